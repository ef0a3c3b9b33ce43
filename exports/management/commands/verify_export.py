from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exports import bundle


class Command(BaseCommand):
    help = (
        "Check an export bundle (directory or zip) against its manifest.json: every file's "
        "SHA-256, size and record count. Exits non-zero on any difference."
    )

    def add_arguments(self, parser):
        parser.add_argument("bundle", help="The bundle: a directory or a .zip file.")
        parser.add_argument(
            "--manifest-sha256",
            help="The SHA-256 of manifest.json recorded in the export log, to check the "
            "manifest itself as well.",
        )

    def handle(self, *args, bundle: str, manifest_sha256=None, **options):
        manifest, differences = bundle_module.verify(Path(bundle), manifest_sha256)
        if differences:
            for difference in differences:
                self.stderr.write(difference)
            raise CommandError(f"{bundle}: {len(differences)} difference(s) from the manifest.")
        files = manifest["files"]
        self.stdout.write(
            f"{bundle}: all {len(files)} files match manifest.json (generated "
            f"{manifest['generated_at']}, casetracker {manifest['software']['version']})."
        )


bundle_module = bundle
