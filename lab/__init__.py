"""The embedded lab: a local stand-in for a Hyper-V estate and its Azure side.

It speaks the real protocols (WS-Management over HTTPS for the hosts) so the real
ansible-playbook -> winrm connection -> pywinrm path runs against it. Not shipped in
the built collection (galaxy.yml build_ignore).
"""
