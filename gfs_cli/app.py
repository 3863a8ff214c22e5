"""The `gfs` command line: thin typer commands over plain functions, and the one map from errors to exit codes."""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Final

import typer

from gfs_cli import naming
from gfs_cli.config_view import effective_settings, format_settings
from gfs_cli.errors import InvalidAnswerError, NotAServiceRepoError
from gfs_cli.extras import add_extra, format_extra_list
from gfs_cli.project import find_project
from gfs_cli.reload import Reloader, run_with_reload
from gfs_cli.scaffold import ServiceAnswers, installed_gfs_version, render_service
from gfs_cli.serving import serve_provider
from gfs_runtime.errors.exceptions import GfsError

EXIT_OK: Final = 0
EXIT_USER_ERROR: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130
PROG_NAME: Final = "gfs"
_MULTI_VALUE_OPTIONS: Final = frozenset({"--config", "-c"})
_REFERENCE_LIST_END: Final = "--config-end"

ConfigOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--config",
        "-c",
        metavar="FILE ...",
        help="Read settings from these TOML files (later ones win key by key); repeat or list them.",
    ),
]
DevLogOption = Annotated[
    bool, typer.Option("--dev-log", help="Print readable, coloured logs instead of JSON lines (development only).")
]


def exit_code_for(exc: BaseException) -> int:
    """Report an exception the way a user should see it and return the process exit code: the one such map."""
    code, message = EXIT_USER_ERROR, None
    if isinstance(exc, typer.Exit):
        code = exc.exit_code
    elif isinstance(exc, KeyboardInterrupt | typer.Abort):
        code, message = EXIT_INTERRUPTED, "interrupted"
    elif isinstance(exc, GfsError):
        message = "error: " + " ".join(str(exc).split())
    elif isinstance(exc, typer.TyperException):  # usage errors among them, whose exit_code is 2
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            message = exc.format_message()
        code = exc.exit_code
    elif isinstance(exc, BrokenPipeError):  # `gfs config | head`: the reader left; nothing more to say
        _silence_stdout()
    elif isinstance(exc, SystemExit):
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or EXIT_OK
        else:
            message = str(exc.code)
    else:
        message = f"unexpected error (a bug, please report it): {type(exc).__name__}"
        traceback.print_exception(exc, file=sys.stderr)
    if message is not None:
        print(f"{PROG_NAME}: {message}", file=sys.stderr)
    return code


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again (see Python's SIGPIPE notes)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured, closed): nothing to flush there
        return


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv[1:]) and return the exit code."""
    args = expand_multi_value_options(sys.argv[1:] if argv is None else argv)
    try:
        command = typer.main.get_command(build_app())
        result = command.main(args=args, prog_name=PROG_NAME, standalone_mode=False)
    except BaseException as exc:  # every outcome, even Ctrl-C, becomes an exit code in exit_code_for
        return exit_code_for(exc)
    return result if isinstance(result, int) else EXIT_OK


def expand_multi_value_options(argv: Sequence[str]) -> list[str]:
    """Accept the reference's `--config a.toml b.toml` form by spreading it into `--config a.toml --config b.toml`."""
    expanded: list[str] = []
    option: str | None = None  # the multi-value option whose values are being read
    for arg in argv:
        if arg == _REFERENCE_LIST_END:
            option = None
            continue
        if option is not None and not arg.startswith("-") and expanded[-1] != option:
            expanded.append(option)
        expanded.append(arg)
        if arg in _MULTI_VALUE_OPTIONS:
            option = arg
        elif arg.startswith("-"):
            option = None
    return expanded


def build_app() -> typer.Typer:
    """The typer application with every `gfs` command."""
    app = typer.Typer(
        name=PROG_NAME,
        help="Scaffold, run and configure Arrow Flight data services built on gfs_runtime.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_main_options)
    app.command("new")(new_command)
    app.command("run")(run_command)
    app.command("start")(start_command)
    app.command("config")(config_command)
    app.command("add-verifier")(add_verifier_command)
    return app


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"{PROG_NAME} {installed_gfs_version()}")
        raise typer.Exit()


def _main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the gfs version and exit."),
    ] = False,
) -> None:
    """Scaffold, run and configure Arrow Flight data services built on gfs_runtime."""


def new_command(
    name: Annotated[
        str | None, typer.Argument(help="Name of the service and its directory: a-z, 0-9 and '-', e.g. sales-data.")
    ] = None,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Directory to create the service's directory in.")
    ] = Path(),
    package: Annotated[
        str | None, typer.Option("--package", help="Python package name; defaults to the name with '_' for '-'.")
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="One line saying what the service serves.")
    ] = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Ask nothing: use the defaults for whatever was not given.")
    ] = False,
) -> int:
    """Create a new service repository that runs, tests, builds a container and deploys as it is."""
    answers = _gather_answers(name, package, description, interactive=not no_input and stdin_is_interactive())
    started = time.perf_counter()
    repo = render_service(answers, output_dir)
    elapsed = time.perf_counter() - started
    shown = os.path.relpath(repo) if repo.is_relative_to(Path.cwd()) else str(repo)
    typer.echo(f"Created {shown} in {elapsed:.2f} s. Next:")
    typer.echo(f"  cd {shown} && make install && make test && gfs run")
    return EXIT_OK


def run_command(
    config: ConfigOption = None,
    dev_log: DevLogOption = False,
    reload: Annotated[
        bool, typer.Option("--reload", help="Restart the service when a file under src/ or config/ changes.")
    ] = False,
) -> int:
    """Run the service of the repository you are in, as its pyproject's [tool.gfs] table says."""
    project = find_project(Path.cwd())
    files = tuple(path.absolute() for path in config) if config else project.config_files
    if not reload:
        return serve_provider(project.methods_provider, files, dev_log=dev_log, import_paths=[project.source_dir])
    command = [sys.executable, "-m", "gfs_cli", "start", "--methods-provider", project.methods_provider]
    command += ["--config", *map(str, files)] if files else []
    command += ["--dev-log"] if dev_log else []
    python_path = os.pathsep.join(filter(None, [str(project.source_dir), os.environ.get("PYTHONPATH")]))
    reloader = Reloader(command, project.watch_dirs, cwd=project.root, env={**os.environ, "PYTHONPATH": python_path})
    return run_with_reload(reloader)


def start_command(
    methods_provider: Annotated[
        str,
        typer.Option(
            "--methods-provider",
            metavar="MODULE",
            help="Module with the @flight_server_methods factory, as pkg.module or pkg.module:factory.",
        ),
    ],
    config: ConfigOption = None,
    logging_config: Annotated[
        Path | None,
        typer.Option("--logging-config", metavar="INI", help="Configure the loggers from this logging .ini file."),
    ] = None,
    dev_log: DevLogOption = False,
) -> int:
    """Start a Flight server for a methods provider module, as the reference server's `start` does."""
    return serve_provider(
        methods_provider,
        config or (),
        logging_config=str(logging_config) if logging_config is not None else None,
        dev_log=dev_log,
        import_paths=[Path.cwd()],
    )


def config_command(config: ConfigOption = None) -> int:
    """Validate the configuration and print every effective setting with its source, secrets masked."""
    files: Sequence[Path] = config or _project_config_files()
    typer.echo(format_settings(effective_settings(files)))
    return EXIT_OK


def add_verifier_command(
    kind: Annotated[str | None, typer.Argument(help="Kind of token verifier to add; see --list.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the change as a diff; write nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace files you changed, backing each up.")] = False,
    list_kinds: Annotated[bool, typer.Option("--list", help="List the kinds of verifier and exit.")] = False,
) -> int:
    """Add a token verifier to the repo made by `gfs new` you are in, never overwriting your edits silently."""
    if list_kinds:
        typer.echo(format_extra_list())
    elif kind is None:
        raise typer.BadParameter("KIND is required; `gfs add-verifier --list` shows the kinds")
    else:
        add_extra(Path.cwd(), kind, dry_run=dry_run, force=force, echo=typer.echo)
    return EXIT_OK


def _project_config_files() -> tuple[Path, ...]:
    """Inside a generated repo, its config files; elsewhere none (settings from env vars and defaults)."""
    try:
        files = find_project(Path.cwd()).config_files
    except NotAServiceRepoError:
        return ()
    return tuple(Path(os.path.relpath(path)) if path.is_relative_to(Path.cwd()) else path for path in files)


def stdin_is_interactive() -> bool:
    """True when a person can answer prompts (stdin is a terminal)."""
    return sys.stdin is not None and sys.stdin.isatty()


def _ask(text: str, default: str | None, validate: Callable[[str], str]) -> str:
    """Prompt until the answer passes `validate`, showing the reason when it does not."""

    def check(value: str) -> str:
        try:
            return validate(value)
        except InvalidAnswerError as exc:
            raise typer.BadParameter(str(exc)) from None

    answer: str = typer.prompt(text, default=default, value_proc=check)
    return answer


def _gather_answers(
    name: str | None, package: str | None, description: str | None, *, interactive: bool
) -> ServiceAnswers:
    """The answers given as options, the missing ones asked for (each checked as it is typed) when interactive."""
    if not interactive:
        if name is None:
            raise typer.BadParameter("NAME is required with --no-input or when input is not a terminal")
        return ServiceAnswers.create(name, package, description)
    slug = naming.validate_slug(name) if name is not None else _ask("Service name", None, naming.validate_slug)
    if package is None:
        package = _ask("Python package", naming.package_for_slug(slug), naming.validate_package)
    if description is None:
        description = _ask("Description", naming.DEFAULT_DESCRIPTION, naming.validate_description)
    return ServiceAnswers.create(slug, package, description)
