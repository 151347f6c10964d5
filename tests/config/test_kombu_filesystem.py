"""The embedded broker never shows a consumer a message file that is still being written."""

from kombu import Connection

from config import kombu_filesystem


def test_a_message_is_invisible_to_consumers_until_complete(tmp_path, monkeypatch):
    folder = tmp_path / "queue"
    folder.mkdir()
    seen_while_writing = []
    real = kombu_filesystem.str_to_bytes

    def spy(value):
        seen_while_writing.extend(p.name for p in folder.iterdir())
        return real(value)

    monkeypatch.setattr(kombu_filesystem, "str_to_bytes", spy)
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder),
               "control_folder": str(tmp_path / "control")}
    with Connection("filesystem-atomic://", transport_options=options) as connection:
        queue = connection.SimpleQueue("jobs")
        queue.put({"n": 1})
        assert all(not name.endswith(".jobs.msg") for name in seen_while_writing)  # only the .part file
        assert [p.name.endswith(".jobs.msg") for p in folder.iterdir()] == [True]
        assert queue.get(timeout=1).payload == {"n": 1}
        queue.close()
