"""The JupyterHub front door for workshops: who may log in, and whose lab is whose.

Built so far: the roster (:mod:`labkit.hub.roster`) and the naming of each learner's
lab (:mod:`labkit.hub.seats`). The hub image, its configuration and the spawner that
drives labkit's lab API per learner come next (issue "Workshops that hold a real room").
"""
