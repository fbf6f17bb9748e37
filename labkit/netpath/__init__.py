"""The network path between the learner's laptop and the mail server.

:mod:`labkit.netpath.inspector` is the SMTP-inspecting middlebox that runs on the lab's
router (standard library only, so the router image needs nothing but ``python3``).
"""
