"""Create an API token for a user and print it once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops_portal.tokens import api_token_create


class Command(BaseCommand):
    help = "Create a bearer token for scripts that call the API as USER, and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The user the token acts as.")
        parser.add_argument("--name", default="API token", help="What the token is for.")

    def handle(self, *args, **options) -> None:
        user = get_user_model().objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"User {options['username']!r} was not found or is inactive.")
        token, key = api_token_create(user=user, name=options["name"])
        self.stdout.write(key)
        self.stderr.write(
            f"Token {token.key_prefix}... for {user.get_username()} created. It is shown only "
            "once; store it now. Send it as the header 'Authorization: Bearer <token>'. "
            "Revoke it in the admin under API tokens."
        )
