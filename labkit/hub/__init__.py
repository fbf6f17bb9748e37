"""The JupyterHub front door for workshops (``labkit hub up|status|down``).

* :mod:`labkit.hub.roster`: who may log in (a CSV), checked strictly;
* :mod:`labkit.hub.seats` and :mod:`labkit.hub.settings`: whose lab is whose, as the
  settings file the hub reads;
* :mod:`labkit.hub.service`: the hub's lifecycle on this machine;
* :mod:`labkit.hub.spawner` (inside the hub): each learner's server is the workstation
  of their own lab; :mod:`labkit.hub.warm` starts labs before their learners log in;
* :mod:`labkit.hub.grid` and :mod:`labkit.hub.grid_service` (inside the hub): the
  instructor's live grid;
* :mod:`labkit.hub.kubernetes`: the plan for Kubernetes (deploy/kubernetes).
"""
