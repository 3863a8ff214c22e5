"""{{ cookiecutter.project_slug }}: an Arrow Flight data service built on gfs."""
