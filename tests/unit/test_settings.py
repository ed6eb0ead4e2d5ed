import pytest

from bot.settings import DEFAULT_DATABASE_URL, Mode, Settings, SettingsError, load_settings

SLACK_AND_STRIPE = {
    "SLACK_BOT_TOKEN": "xoxb-test",
    "SLACK_SIGNING_SECRET": "secret",
    "STRIPE_API_KEY": "sk_test_123",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_123",
    "STRIPE_WEBHOOK_SECRET": "whsec_123",
    "PUBLIC_BASE_URL": "https://portal.example",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)


def test_defaults_need_nothing() -> None:
    settings = load_settings(Mode.SANDBOX, {})
    assert settings.DATABASE_URL == DEFAULT_DATABASE_URL
    assert settings.DATABASE_URL.startswith("sqlite:///")
    assert settings.PORT == 3000
    assert settings.HOST == "127.0.0.1"
    assert settings.APP_TIMEZONE == "Europe/London"
    assert not settings.has_slack_tokens


def test_missing_variables_are_named_for_the_mode() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(Mode.SERVE, {"SLACK_BOT_TOKEN": "xoxb-test"})
    message = str(caught.value)
    assert "Cannot start 'serve'" in message
    for name in (
        "SLACK_SIGNING_SECRET",
        "STRIPE_API_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "PUBLIC_BASE_URL",
    ):
        assert name in message
    assert "SLACK_BOT_TOKEN" not in message


def test_socket_mode_needs_the_app_token() -> None:
    with pytest.raises(SettingsError, match="SLACK_APP_TOKEN"):
        load_settings(Mode.SOCKET, SLACK_AND_STRIPE)


def test_a_complete_environment_loads_and_hides_secrets() -> None:
    settings = load_settings(Mode.SERVE, {**SLACK_AND_STRIPE, "PORT": "8080"})
    assert settings.PORT == 8080
    assert "sk_test_123" not in repr(settings)
    assert settings.STRIPE_API_KEY is not None
    assert settings.STRIPE_API_KEY.get_secret_value() == "sk_test_123"


def test_bad_values_are_named() -> None:
    with pytest.raises(SettingsError, match="PORT"):
        load_settings(Mode.MIGRATE, {"PORT": "seventy"})
    with pytest.raises(SettingsError, match="APP_TIMEZONE"):
        load_settings(Mode.MIGRATE, {"APP_TIMEZONE": "Mars/Olympus"})
    with pytest.raises(SettingsError, match="LOG_LEVEL"):
        load_settings(Mode.MIGRATE, {"LOG_LEVEL": "LOUD"})


def test_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db.example/portal")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9999/api")
    settings = load_settings(Mode.MIGRATE)
    assert settings.DATABASE_URL == "postgresql+psycopg://db.example/portal"
    assert settings.SLACK_API_URL == "http://127.0.0.1:9999/api/"


DISTRIBUTED = {
    **{k: v for k, v in SLACK_AND_STRIPE.items() if k != "SLACK_BOT_TOKEN"},
    "SLACK_CLIENT_ID": "1111.2222",
    "SLACK_CLIENT_SECRET": "client-secret",
}


def test_a_distributed_app_needs_its_client_and_a_token_key_instead_of_a_bot_token() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(Mode.SERVE, DISTRIBUTED)
    assert "SLACK_TOKEN_KEY" in str(caught.value)
    assert "SLACK_BOT_TOKEN" not in str(caught.value)
    settings = load_settings(Mode.SERVE, {**DISTRIBUTED, "SLACK_TOKEN_KEY": "k"})
    assert settings.distributed
    assert settings.has_slack_tokens
    assert "client-secret" not in repr(settings)


def test_a_bot_token_and_an_oauth_client_together_are_refused() -> None:
    both = {**DISTRIBUTED, "SLACK_TOKEN_KEY": "k", "SLACK_BOT_TOKEN": "xoxb-test"}
    with pytest.raises(SettingsError, match="not both"):
        load_settings(Mode.SERVE, both)


def test_socket_mode_serves_one_workspace_only() -> None:
    with pytest.raises(SettingsError, match="Socket Mode serves one workspace"):
        load_settings(Mode.SOCKET, {**DISTRIBUTED, "SLACK_APP_TOKEN": "xapp-1"})
