import os

import pytest
from django.core.management import CommandError, call_command
from django_scopes import scopes_disabled

from tracking import capture
from tracking.models import Click, RawClick


def finish_this_process_spool():
    """What a web process that has exited leaves behind: its spool files, unlocked."""
    spool = capture.spool()
    spool.rotate()
    for fd, _ in spool._pending:
        os.close(fd)
    spool._pending.clear()


@pytest.mark.django_db
def test_process_clicks_command_drains_and_processes(client, org, link, capsys):
    client.get(f"/l/{link.code}")
    client.get(f"/l/{link.code}")
    finish_this_process_spool()  # spool mode: the clicks are in a file; db mode: in raw rows
    call_command("process_clicks")
    with scopes_disabled():
        assert Click.objects.count() == 2 and not RawClick.objects.exists()
    assert "Processed 2 clicks." in capsys.readouterr().out


@pytest.mark.django_db
def test_process_clicks_command_refuses_an_unknown_organisation(org):
    with pytest.raises(CommandError, match="No organisation"):
        call_command("process_clicks", org="nope")
