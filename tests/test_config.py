import pytest

from checks.config import Config, load_config, parse_config
from checks.errors import ConfigError


def test_defaults_follow_the_seed_conventions():
    cfg = Config()
    assert cfg.timeout == 5.0
    assert cfg.dragonfly.admin_secret == "cache/dragonfly-auth" and cfg.dragonfly.admin_password_key == "password"
    assert cfg.cnpg.superuser_secret_suffix == "-superuser"
    assert (cfg.rustfs.admin_secret, cfg.rustfs.access_key_key, cfg.rustfs.secret_key_key) == (
        "storage/rustfs-credentials", "RUSTFS_ACCESS_KEY", "RUSTFS_SECRET_KEY")


def test_full_file_is_typed(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("""
timeout = 2
refresh_interval = 0
[endpoints]
"dragonfly.cache.svc:6379" = "127.0.0.1:7000"
[dragonfly]
admin_secret = "cache/other"
[contexts.prod]
read_only = true
[keymap]
"app.quit" = "ctrl+q"
""")
    cfg = load_config(str(path))
    assert cfg.timeout == 2.0 and isinstance(cfg.timeout, float)
    assert cfg.endpoints == {"dragonfly.cache.svc:6379": "127.0.0.1:7000"}
    assert cfg.dragonfly.admin_secret == "cache/other"
    assert cfg.context_read_only("prod") and not cfg.context_read_only("dev")
    assert cfg.keymap == {"app.quit": "ctrl+q"}
    assert cfg.source_path == str(path)


@pytest.mark.parametrize("text, names", [
    ("timout = 3", "timout"),
    ("[dragonfly]\nadmin_secert = 'x'", "dragonfly.admin_secert"),
    ("timeout = 'fast'", "timeout"),
    ("timeout = -1", "timeout"),
    ("[contexts.prod]\nread_only = 'yes'", "contexts.prod.read_only"),
    ("[endpoints]\n'dragonfly' = '127.0.0.1:1'", "dragonfly"),
    ("[rustfs]\nregion = 5", "rustfs.region"),
])
def test_unknown_key_or_bad_value_names_it(text, names):
    import tomllib

    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        parse_config(tomllib.loads(text))


def test_env_var_and_flag_precedence(tmp_path, monkeypatch):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text("timeout = 1")
    b.write_text("timeout = 2")
    monkeypatch.setenv("CLUSTERDECK_CONFIG", str(a))
    assert load_config().timeout == 1.0
    assert load_config(str(b)).timeout == 2.0


def test_invalid_toml_is_a_config_error(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("timeout = [")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(str(p))


def test_xdg_path(tmp_path, monkeypatch):
    monkeypatch.delenv("CLUSTERDECK_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("CLUSTERDECK_LAB_DIR", str(tmp_path / "nolab"))
    (tmp_path / "clusterdeck").mkdir()
    (tmp_path / "clusterdeck" / "config.toml").write_text("refresh_interval = 3")
    assert load_config().refresh_interval == 3.0
