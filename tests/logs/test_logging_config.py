"""Server logging (config/logging.py): the error file holds WARNING and
above from every logger except clients' 4xx, the frontend file holds only
browser entries, and
DEBUG reaches the console only when LOG_LEVEL asks for it."""

import logging
import logging.config
import logging.handlers

import pytest

from config.logging import ERRORS_FILE, FRONTEND_FILE, build_logging
from config.logging import configure as configure_logging
from logs.jsonlines import FRONTEND_LOGGER


@pytest.fixture
def configure(tmp_path, settings):
    def apply(level="INFO"):
        configure_logging(build_logging(tmp_path / "log", level))
        return tmp_path / "log"

    yield apply
    logging.config.dictConfig(settings.LOGGING)


def console_level():
    (console,) = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    return console.level


def test_the_error_file_gets_warning_and_above_from_every_logger(configure):
    log_dir = configure()

    for name in ("django.request", "daphne.server", "streams.connection.consumer", "some.library"):
        logger = logging.getLogger(name)
        logger.info("%s info", name)
        logger.warning("%s warning", name)
        logger.error("%s error", name)

    text = (log_dir / ERRORS_FILE).read_text()
    for name in ("django.request", "daphne.server", "streams.connection.consumer", "some.library"):
        assert f"{name} warning" in text
        assert f"{name} error" in text
        assert f"{name} info" not in text


@pytest.mark.parametrize("name", ["django.request", "django.server", "django.security.csrf"])
def test_the_error_file_keeps_5xx_answers_but_not_4xx(configure, name):
    log_dir = configure()

    logging.getLogger(name).warning("client mistake", extra={"status_code": 404})
    logging.getLogger(name).error("server failure", extra={"status_code": 503})

    text = (log_dir / ERRORS_FILE).read_text()
    assert "client mistake" not in text
    assert "server failure" in text


def test_browser_entries_stay_out_of_the_error_file(configure):
    log_dir = configure()

    logging.getLogger(FRONTEND_LOGGER).error("from the browser")

    assert "from the browser" not in (log_dir / ERRORS_FILE).read_text()
    assert "from the browser" in (log_dir / FRONTEND_FILE).read_text()


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
def test_debug_reaches_the_console_only_when_asked_for(configure, level):
    configure(level)

    assert console_level() == logging.getLevelName(level)
    assert logging.getLogger().level == logging.getLevelName(level)
    debug = level == "DEBUG"
    assert logging.getLogger("some.library").isEnabledFor(logging.DEBUG) is debug
    assert logging.getLogger("daphne.ws_protocol").isEnabledFor(logging.DEBUG) is debug


def test_daphne_says_only_warnings_unless_debug_is_asked_for(configure):
    configure()

    assert not logging.getLogger("daphne.server").isEnabledFor(logging.INFO)
    assert logging.getLogger("daphne.server").isEnabledFor(logging.WARNING)


def test_sql_stays_off_the_console_even_at_debug(configure):
    configure("DEBUG")

    assert not logging.getLogger("django.db.backends").isEnabledFor(logging.DEBUG)


def test_both_files_rotate(configure):
    log_dir = configure()

    handlers = logging.getLogger().handlers + logging.getLogger(FRONTEND_LOGGER).handlers
    files = {
        h.baseFilename: h for h in handlers if isinstance(h, logging.handlers.RotatingFileHandler)
    }
    assert sorted(files) == [str(log_dir / ERRORS_FILE), str(log_dir / FRONTEND_FILE)]
    assert all(h.maxBytes > 0 and h.backupCount > 0 for h in files.values())


def test_the_log_directory_comes_from_log_dir(settings):
    assert settings.LOGGING["handlers"]["errors_file"]["filename"] == str(
        settings.LOG_DIR / ERRORS_FILE
    )
    assert settings.LOGGING["handlers"]["frontend_file"]["filename"] == str(
        settings.LOG_DIR / FRONTEND_FILE
    )
