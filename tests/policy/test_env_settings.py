"""The program's config check and the policy pack read Elasticsearch settings from a
container's environment each with their own `env_setting` (the pack ships alone): one reading."""

from __future__ import annotations

import pytest
from es_transport_policy.documents import env_setting as pack_env_setting
from es_transport_policy.documents import expand as pack_expand
from es_transport_policy.values import is_unknown

from components.eck_passthrough import env_setting as config_env_setting
from components.eck_passthrough import expand as config_expand

NAMES = [
    ("xpack.security.enabled", "xpack.security.enabled"),
    ("xpack.security.transport.ssl.client_authentication",
     "xpack.security.transport.ssl.client_authentication"),
    ("ES_SETTING_XPACK_SECURITY_TRANSPORT_SSL_CLIENT__AUTHENTICATION",
     "xpack.security.transport.ssl.client_authentication"),
    ("ES_SETTING_TRANSPORT_PROFILES_CLIENT_XPACK_SECURITY_SSL_VERIFICATION__MODE",
     "transport.profiles.client.xpack.security.ssl.verification_mode"),
    ("ES_SETTING_BOOTSTRAP_MEMORY__LOCK", "bootstrap.memory_lock"),
    ("node-roles.x", "node-roles.x"),
    ("ES_JAVA_OPTS", None),
    ("ES_SETTING_", None),
    ("ES_SETTING_lower", None),
    ("Xpack.security.enabled", None),
    ("xpack", None),
    ("PATH", None),
    ("", None),
]


@pytest.mark.parametrize(("name", "setting"), NAMES)
def test_the_config_check_and_the_pack_read_a_variable_alike(
    name: str, setting: str | None
) -> None:
    assert config_env_setting(name) == pack_env_setting(name) == setting


VARIABLES = {"MODE": "none", "EMPTY": "", "DOLLAR": "$(MODE)"}
# (text, as kubelet expands it with VARIABLES; None: a reference to a variable not given)
EXPANSIONS = [
    ("$(MODE)", "none"),
    ("client_authentication=$(MODE)", "client_authentication=none"),
    ("$(MODE)$(MODE)", "nonenone"),
    ("$(EMPTY)x", "x"),
    ("$(DOLLAR)", "$(MODE)"),  # expanded once, never again
    ("$$(MODE)", "$(MODE)"),
    ("$$$(MODE)", "$none"),
    ("$$$$", "$$"),
    ("$MODE", "$MODE"),
    ("$(MODE", "$(MODE"),
    ("$", "$"),
    ("a$", "a$"),
    ("$(MODE)$", "none$"),
    ("$($(MODE))", None),  # the name is `$(MODE`
    ("$(OTHER)", None),
    ("$()", None),
    ("plain", "plain"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expanded"), EXPANSIONS)
def test_the_config_check_and_the_pack_expand_a_reference_alike(
    text: str, expanded: str | None
) -> None:
    pack = pack_expand(text, VARIABLES)
    assert config_expand(text, VARIABLES) == (None if is_unknown(pack) else pack) == expanded
