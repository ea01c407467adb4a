"""Entry point of the es-transport-pki CrossGuard pack.

The engine runs `python -u -m pulumi.policy <engine-address> .` in this directory, which runs
this file with this directory on sys.path; tests put the directory on sys.path the same way.
"""

from es_transport_policy import resource_request, stack_request
from es_transport_policy.pack import PACK_NAME, policies
from pulumi_policy import PolicyPack

# One deserialisation of the stack per AnalyzeStack, and of the resource per Analyze, instead of
# one per policy (pinned pulumi-policy only; see the modules).
stack_request.install()
resource_request.install()
PolicyPack(
    name=PACK_NAME,
    policies=policies(),
    description="Invariants of Elasticsearch transport (node-to-node) TLS: dedicated CA per "
    "cluster, EKU, mTLS, verification, key strength and custody, HTTP/transport separation.",
)
