"""``colonies location``: named places executors run at (blueprints and conditions use them)."""

from __future__ import annotations

import click

from colonies.cli._common import COLONY_OWNER, MEMBER, Env, colony_key_option, errors, pass_env
from colonies.cli._output import Column, emit, output_option, output_options
from colonies.core import Location

LOCATION_COLUMNS: list[Column] = [
    ("NAME", lambda loc: loc.name),
    ("DESCRIPTION", lambda loc: loc.description),
    ("LONG", lambda loc: loc.long),
    ("LAT", lambda loc: loc.lat),
    ("LOCATIONID", lambda loc: loc.locationid),
]


@click.group()
def location() -> None:
    """Locations of a colony: add and remove (colony owner), list and inspect."""


@location.command("add", epilog=COLONY_OWNER)
@click.option("--name", required=True, help="Location name, unique in the colony.")
@click.option("--desc", "--description", "description", default="", help="What it is.")
@click.option("--long", "longitude", type=float, default=0.0, help="Longitude.")
@click.option("--lat", "latitude", type=float, default=0.0, help="Latitude.")
@colony_key_option
@output_option
@pass_env
@errors
def location_add(
    env: Env,
    name: str,
    description: str,
    longitude: float,
    latitude: float,
    colony_key: str | None,
    output: str,
) -> None:
    """Add a location to the colony."""
    new = Location(
        name=name,
        colonyname=env.colony(),
        description=description,
        long=longitude,
        lat=latitude,
    )
    with env.client("colony", colony_key) as client:
        emit(client.add_location(new), LOCATION_COLUMNS, output)


@location.command("ls", epilog=MEMBER)
@output_options
@pass_env
@errors
def location_ls(env: Env, output: str, no_headers: bool) -> None:
    """The colony's locations."""
    with env.client() as client:
        emit(client.get_locations(env.colony()), LOCATION_COLUMNS, output, no_headers)


@location.command("get", epilog=MEMBER)
@click.option("--name", required=True, help="Location name.")
@output_options
@pass_env
@errors
def location_get(env: Env, name: str, output: str, no_headers: bool) -> None:
    """One location."""
    with env.client() as client:
        emit(client.get_location(env.colony(), name), LOCATION_COLUMNS, output, no_headers)


@location.command("remove", epilog=COLONY_OWNER)
@click.option("--name", required=True, help="Location name.")
@colony_key_option
@pass_env
@errors
def location_remove(env: Env, name: str, colony_key: str | None) -> None:
    """Remove a location."""
    with env.client("colony", colony_key) as client:
        client.remove_location(env.colony(), name)
    click.echo(f"location {name} removed")
