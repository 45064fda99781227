"""Exact fixes the CNPG flow proposes: kubectl commands and YAML snippets, never a password."""

from __future__ import annotations

PLACEHOLDER = "<new-password>"
"""What a fix writes where a password must go; the real value is never shown."""


def role_yaml(role: str, secret: str, *, login: bool = True, valid_until: str = "",
              connection_limit: int | None = None) -> str:
    """A `spec.managed.roles[]` entry for the Cluster."""
    lines = ["spec:", "  managed:", "    roles:", f"      - name: {role}", "        ensure: present",
             f"        login: {'true' if login else 'false'}", "        passwordSecret:", f"          name: {secret}"]
    if valid_until:
        lines.append(f'        validUntil: "{valid_until}"')
    if connection_limit is not None:
        lines.append(f"        connectionLimit: {connection_limit}")
    return "\n".join(lines)


def edit_cluster(ns: str, cluster: str) -> str:
    return f"kubectl edit cluster {cluster} -n {ns}"


def add_role(ns: str, cluster: str, role: str, secret: str) -> str:
    return (f"{edit_cluster(ns, cluster)}   # add under spec.managed.roles:\n"
            f"{role_yaml(role, secret or role + '-db')}")


def reserved_role(ns: str, cluster: str) -> str:
    return ("# reserved roles (postgres, streaming_replica, cnpg_*) cannot be managed: the webhook answers\n"
            "# `This role is reserved for operator use`. Give the application its own role:\n"
            f"{add_role(ns, cluster, 'app_role', 'app-role-db')}")


def set_login(ns: str, cluster: str, role: str) -> str:
    return (f"{edit_cluster(ns, cluster)}   # in spec.managed.roles[name={role}] set:\n"
            "        ensure: present\n        login: true")


def reload_label(ns: str, secret: str) -> str:
    return f"kubectl label secret {secret} -n {ns} cnpg.io/reload=true"


def create_secret(ns: str, secret: str, role: str) -> str:
    return (f"kubectl create secret generic {secret} -n {ns} --type=kubernetes.io/basic-auth \\\n"
            f"  --from-literal=username={role} --from-literal=password='{PLACEHOLDER}' \\\n"
            f"  --dry-run=client -o yaml | kubectl apply -f -\n{reload_label(ns, secret)}")


def fix_username(ns: str, secret: str, role: str) -> str:
    return (f"kubectl patch secret {secret} -n {ns} --type merge -p '{{\"stringData\":{{\"username\":\"{role}\"}}}}'\n"
            f"# apps that read PGUSER from this Secret then log in as {role}")


def rewrite_password(ns: str, secret: str, role: str) -> str:
    return (f"# write the password without a trailing newline (printf, not echo; --from-literal, not a file):\n"
            f"kubectl create secret generic {secret} -n {ns} --type=kubernetes.io/basic-auth \\\n"
            f"  --from-literal=username={role} --from-literal=password=\"$(printf %s '{PLACEHOLDER}')\" \\\n"
            f"  --dry-run=client -o yaml | kubectl apply -f -\n{reload_label(ns, secret)}")


def resync(ns: str, secret: str, cluster: str, labelled: bool) -> str:
    """Make the operator re-read the Secret (a metadata change bumps its resourceVersion)."""
    lines = [] if labelled else [reload_label(ns, secret)]
    lines.append(f"kubectl annotate secret {secret} -n {ns} clusterdeck.io/resync=\"$(date +%s)\" --overwrite")
    lines.append(f"kubectl get cluster {cluster} -n {ns} -o jsonpath='{{.status.managedRolesStatus}}'")
    return "\n".join(lines)


def operator_log(ns: str, primary: str, role: str) -> str:
    pod = primary or "<primary-pod>"
    return f"kubectl logs {pod} -n {ns} -c postgres | grep -i '{role}'"


def valid_until(ns: str, cluster: str, role: str) -> str:
    return (f"{edit_cluster(ns, cluster)}   # in spec.managed.roles[name={role}] remove validUntil "
            "(never expires), or move it forward:\n"
            '        validUntil: "2027-12-31T23:59:59Z"')


def connection_limit(ns: str, cluster: str, role: str, current: int) -> str:
    return (f"{edit_cluster(ns, cluster)}   # in spec.managed.roles[name={role}]:\n"
            f"        connectionLimit: {max(current * 2, current + 10)}   # or -1 for no limit\n"
            "# and look for connection leaks: SELECT application_name, client_addr, state, count(*) "
            f"FROM pg_stat_activity WHERE usename = '{role}' GROUP BY 1, 2, 3;")


def password_mismatch(ns: str, cluster: str, secret: str, role: str, labelled: bool) -> str:
    return ("# the Secret is the source of truth: make the operator apply it again\n"
            f"{resync(ns, secret, cluster, labelled)}\n"
            "# or, if the database password is the right one, write it into the Secret:\n"
            f"kubectl patch secret {secret} -n {ns} --type merge -p "
            f"'{{\"stringData\":{{\"password\":\"{PLACEHOLDER}\"}}}}'")


def hba_entry(ns: str, cluster: str, db: str, role: str) -> str:
    return (f"{edit_cluster(ns, cluster)}   # add to spec.postgresql.pg_hba:\n"
            f"        - host {db} {role} 0.0.0.0/0 scram-sha-256")


def database_missing(ns: str, cluster: str, db: str, role: str) -> str:
    return ("kubectl apply -f - <<'EOF'\napiVersion: postgresql.cnpg.io/v1\nkind: Database\n"
            f"metadata:\n  name: {cluster}-{db}\n  namespace: {ns}\n"
            f"spec:\n  cluster:\n    name: {cluster}\n  name: {db}\n  owner: {role}\nEOF\n"
            "# or point the app at an existing database (PGDATABASE / the URL path)")


def grant_connect(ns: str, cluster: str, db: str, role: str) -> str:
    return f"kubectl cnpg psql {cluster} -n {ns} -- -c 'GRANT CONNECT ON DATABASE \"{db}\" TO \"{role}\";'"


def rollout(ns: str, workload: str) -> str:
    return f"kubectl rollout restart {workload} -n {ns}"


def reloader(ns: str, workload: str, secret: str) -> str:
    return (f"kubectl annotate {workload} -n {ns} secret.reloader.stakater.com/reload={secret} --overwrite"
            f"   # or reloader.stakater.com/auto=\"true\"")


def use_role_secret(ns: str, workload: str, secret: str) -> str:
    return (f"kubectl edit {workload} -n {ns}   # read the credentials from the role's Secret:\n"
            "        env:\n"
            "          - name: PGUSER\n"
            f"            valueFrom: {{secretKeyRef: {{name: {secret}, key: username}}}}\n"
            "          - name: PGPASSWORD\n"
            f"            valueFrom: {{secretKeyRef: {{name: {secret}, key: password}}}}\n"
            f"{reloader(ns, workload, secret)}")
