"""A storage that fails the way a real one does, for the "nothing half-written" tests: the local
disk (FileSystemStorage, under MEDIA_ROOT), which is full once it holds one more file than before.
Use it as the default storage: settings.STORAGES = full_disk_storages(settings.STORAGES)."""

import errno

from django.core.files.storage import FileSystemStorage


class FullDiskStorage(FileSystemStorage):
    """Takes one file, then every further save fails with ENOSPC (No space left on device)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.saved = 0

    def _save(self, name, content):
        if self.saved >= 1:
            raise OSError(errno.ENOSPC, "No space left on device", name)
        self.saved += 1
        return super()._save(name, content)


def full_disk_storages(storages: dict) -> dict:
    return {**storages, "default": {"BACKEND": "tests.support.storage.FullDiskStorage"}}
