# JupyterHub for a labkit workshop. What varies per workshop (the roster, the admins,
# how long an idle server lives) comes from a JSON file that `labkit` writes
# (labkit/hub/settings.py); this file holds no data of its own.
import json
import os
import sys

c = get_config()  # noqa: F821 (JupyterHub provides it)

with open(os.environ.get("LABKIT_HUB_SETTINGS", "/srv/hub/settings.json")) as f:
    settings = json.load(f)

DATA = "/srv/hub/data"  # a volume: users, passwords and cookies survive hub restarts
os.makedirs(DATA, exist_ok=True)

c.JupyterHub.bind_url = "http://:8000"
# The proxy runs in this container and dies with it: a pid file left by the previous run
# (a `docker restart`, a crash) names a process that is not the proxy any more, and
# JupyterHub would refuse to start trying to stop it.
c.ConfigurableHTTPProxy.pid_file = "/srv/hub/jupyterhub-proxy.pid"
if os.path.exists(c.ConfigurableHTTPProxy.pid_file):
    os.remove(c.ConfigurableHTTPProxy.pid_file)
# The learners' servers call the hub's API on the address it has on their lab's network.
c.JupyterHub.hub_ip = "0.0.0.0"

# Each learner's server is the workstation of their own lab (labkit/hub/spawner.py).
c.JupyterHub.spawner_class = "labkit.hub.spawner.LabSpawner"
c.Spawner.start_timeout = 300  # a cold lab: four containers, readiness, the scenario
c.Spawner.http_timeout = 120
# A hub restart (an upgrade, a crash) leaves the learners' labs running: their servers
# are found again from the hub's database, and nobody loses a terminal or a kernel.
c.JupyterHub.cleanup_servers = False
c.JupyterHub.db_url = f"sqlite:///{DATA}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{DATA}/jupyterhub_cookie_secret"

# Only the people on the roster log in; each sets their password at first login.
c.JupyterHub.authenticator_class = "firstuseauthenticator.FirstUseAuthenticator"
c.FirstUseAuthenticator.dbm_path = f"{DATA}/passwords.dbm"
c.FirstUseAuthenticator.min_password_length = 8
c.Authenticator.allowed_users = set(settings["users"])
c.Authenticator.admin_users = set(settings["admins"])

# Servers idle for longer than cull_idle_s are stopped.
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={int(settings['cull_idle_s'])}",
        ],
    }
]
# The instructor's live grid (labkit/hub/grid_service.py) at /services/labkit/: every
# learner's lab checked live; learners see their own row.
c.JupyterHub.services.append(
    {
        "name": "labkit",
        "url": "http://127.0.0.1:10101",
        "command": [sys.executable, "-m", "labkit.hub.grid_service"],
        "oauth_no_confirm": True,
        "display": True,
    }
)
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    },
    {
        "name": "labkit-grid-visitors",
        "scopes": ["access:services!service=labkit"],
        "users": sorted(set(settings["users"])),
    },
]
