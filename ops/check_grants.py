"""`python -m ops.check_grants STAGE TEMPLATE`: the SSM parameters the policy names are granted.

`make package` runs it on the packaged template: the policy files name the SSM SecureStrings of
the provider's client secret (`[sign_in] client_secret_parameter`, for the stages it serves)
and of the LDAP bind password (`[directory] bind_password_parameter`, with `kind = "ldap"`);
the API function's role must grant `ssm:GetParameter` on each, or sign-in would fail only once
deployed. The roles (.chalice/policy-<stage>.json) grant `/sesame/<stage>/oidc-client-secret`
and `/sesame/<stage>/ldap-bind-password` by name, nothing wider: a policy naming another
parameter is refused here until the role grants it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.adapters.policy_files import load_policy
from chalicelib.domain.policy import Policy

PROJECT_ROOT = Path(__file__).resolve().parent.parent
API_ROLE = "ApiHandlerRole"
PARAMETER_ARN = ":parameter/"


def parameters_needed(policy: Policy, stage: str) -> set[str]:
    """Return the SSM parameters the API reads in this stage, as the policy files name them."""
    needed: set[str] = set()
    sign_in = policy.identity.sign_in_for(stage)
    if sign_in is not None:
        needed.add(sign_in.client_secret_parameter)
    directory = policy.identity.directory
    if directory.kind == "ldap" and directory.bind_password_parameter:
        needed.add(directory.bind_password_parameter)
    return needed


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def parameters_granted(template: dict[str, Any], role: str = API_ROLE) -> set[str]:
    """Return the parameter names a role may ssm:GetParameter (ARNs as Fn::Sub or strings)."""
    granted: set[str] = set()
    for policy in template["Resources"][role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement.get("Effect") != "Allow":
                continue
            if "ssm:GetParameter" not in _as_list(statement["Action"]):
                continue
            for resource in _as_list(statement["Resource"]):
                arn = resource.get("Fn::Sub") if isinstance(resource, dict) else resource
                if isinstance(arn, str) and PARAMETER_ARN in arn:
                    granted.add("/" + arn.split(PARAMETER_ARN, 1)[1])
    return granted


def missing_grants(policy: Policy, stage: str, template: dict[str, Any]) -> set[str]:
    """Return the parameters the policy needs in this stage that the API role does not grant."""
    granted = parameters_granted(template)
    return {
        name for name in parameters_needed(policy, stage) if "/" + name.lstrip("/") not in granted
    }


def main(argv: list[str] | None = None) -> int:
    """Check one stage's packaged template against the policy files; exit 1 on a missing grant."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage")
    parser.add_argument("template", type=Path)
    parser.add_argument("--policies", type=Path, default=PROJECT_ROOT / "policies")
    args = parser.parse_args(argv)
    template = json.loads(args.template.read_text(encoding="utf-8"))
    missing = missing_grants(load_policy(args.policies), args.stage, template)
    if missing:
        sys.stderr.write(
            f"The {args.stage} role cannot read {', '.join(sorted(missing))} (named in "
            f"{args.policies}): grant ssm:GetParameter on it in "
            f".chalice/policy-{args.stage}.json, or name /sesame/{args.stage}/oidc-client-secret "
            f"or /sesame/{args.stage}/ldap-bind-password.\n"
        )
        return 1
    sys.stdout.write(f"The {args.stage} role reads every SSM parameter the policy names.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
