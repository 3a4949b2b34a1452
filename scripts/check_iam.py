#!/usr/bin/env python3
"""Least-privilege check of the Lambda functions in template.yaml.

Run with the SAM venv's interpreter (it has cfn-lint, whose template decoder
reads the intrinsic-function tags and whose IAM action list is used here):

    .tools/sam/bin/python scripts/check_iam.py [template.yaml]

For every function (AWS::Serverless::Function or AWS::Lambda::Function) it
fails when
  - the function has no explicit Role (a SAM-generated role always gets the
    AWS managed AWSLambdaBasicExecutionRole: logs actions on every resource),
    or its Role is not an AWS::IAM::Role of the template;
  - it uses SAM `Policies` at all: SAM policy templates (`*CrudPolicy` and the
    like), managed policy names or ARNs, or inline documents (they belong in
    the function's role, as one inline policy);
  - its role has managed policies (ManagedPolicyArns) or more than one
    inline policy, or another AWS::IAM::Policy / ManagedPolicy of the template
    is attached to it;
  - an Allow statement uses NotAction or NotResource, an action with a
    wildcard (`*`, `?`) or one IAM does not know (cfn-lint's action list), a
    resource that is `*` or wildcards the partition, service, region,
    account, resource type or name (e.g. `table/*`, `arn:aws:s3:::*`), or a
    resource none of its actions applies to (and an action that applies to
    none of its resources);
  - it writes logs to anything but its own log group, or has no log group of
    the template (LoggingConfig.LogGroup) with a RetentionInDays; and any
    AWS::Logs::LogGroup of the template without RetentionInDays fails too.

It prints, per function, its role and every action with the resources it
is granted on (intrinsics rendered with sample values).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

try:
    from cfnlint.decode import decode
except ImportError:  # pragma: no cover - depends on the interpreter used
    sys.exit("check_iam.py needs cfn-lint: run it with .tools/sam/bin/python (scripts/test installs that venv)")
import cfnlint.data.AdditionalSpecs as additional_specs

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
ROLE_TYPE = "AWS::IAM::Role"
LOG_GROUP_TYPE = "AWS::Logs::LogGroup"

# Sample values for rendering ARNs.
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "sundial",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/sundial/0",
}
SAMPLE_PARAMETERS = {
    "MailFrom": "noreply@example.com",
    "AllowedOrigin": "https://app.example.com",
}


class Template:
    def __init__(self, path: Path):
        tpl, matches = decode(str(path))
        if matches or tpl is None:
            sys.exit("\n".join(f"{path}: {m}" for m in matches) or f"{path}: cannot be read")
        self.tpl = tpl
        self.resources: dict = tpl.get("Resources", {})
        self.parameters: dict = tpl.get("Parameters", {})

    def type_of(self, name: str) -> str | None:
        res = self.resources.get(name)
        return res.get("Type") if isinstance(res, dict) else None

    def props(self, name: str) -> dict:
        return self.resources.get(name, {}).get("Properties", {}) or {}

    # ---- rendering intrinsics with sample values
    def ref(self, name: str):
        if name in PSEUDO:
            return PSEUDO[name]
        if name == "AWS::NoValue":
            return None
        if name in self.parameters:
            param = self.parameters[name]
            if "Default" in param:
                return str(param["Default"])
            return SAMPLE_PARAMETERS.get(name, f"sample-{name.lower()}")
        kind = self.type_of(name)
        p = self.props(name)
        if kind == "AWS::SecretsManager::Secret":
            return self.arn("secretsmanager", f"secret:{name}-AbCdEf")
        if kind == LOG_GROUP_TYPE:
            return self.render(p["LogGroupName"]) if "LogGroupName" in p else f"{name}-loggroup"
        if kind is None:
            raise ValueError(f"Ref to unknown {name!r}")
        return f"sundial-{name.lower()}"

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        r = PSEUDO["AWS::Region"] if region else ""
        a = PSEUDO["AWS::AccountId"] if account else ""
        return f"arn:aws:{service}:{r}:{a}:{resource}"

    def get_att(self, name: str, attribute: str):
        kind = self.type_of(name)
        if kind is None:
            raise ValueError(f"GetAtt of unknown {name!r}")
        if attribute != "Arn":
            return f"{name}.{attribute}"
        ref = self.ref(name)
        return {
            "AWS::DynamoDB::Table": lambda: self.arn("dynamodb", f"table/{ref}"),
            "AWS::S3::Bucket": lambda: self.arn("s3", ref, region=False, account=False),
            LOG_GROUP_TYPE: lambda: self.arn("logs", f"log-group:{ref}:*"),
            ROLE_TYPE: lambda: self.arn("iam", f"role/{ref}", region=False),
            "AWS::SQS::Queue": lambda: self.arn("sqs", ref),
            "AWS::SNS::Topic": lambda: self.arn("sns", ref),
        }.get(kind, lambda: self.arn(kind.split("::")[1].lower(), ref))()

    def render(self, node, variables: dict | None = None):
        if isinstance(node, (str, int, float, bool)):
            return str(node) if not isinstance(node, str) else node
        if isinstance(node, list):
            return [self.render(x, variables) for x in node]
        if not isinstance(node, dict):
            raise ValueError(f"cannot render {node!r}")
        if len(node) != 1:
            return {k: self.render(v, variables) for k, v in node.items()}
        (fn, arg), = node.items()
        if fn == "Ref":
            return self.ref(arg)
        if fn == "Fn::GetAtt":
            name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.get_att(name, attribute)
        if fn == "Fn::Sub":
            text, subs = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            values = {k: self.render(v) for k, v in subs.items()}

            def one(m: re.Match) -> str:
                key = m.group(1)
                if key.startswith("!"):
                    return "${" + key[1:] + "}"
                if key in values:
                    return values[key]
                if "." in key and key.split(".", 1)[0] in self.resources:
                    return self.get_att(*key.split(".", 1))
                return self.ref(key)

            return re.sub(r"\$\{([^}]+)\}", one, text)
        if fn == "Fn::Select":
            return self.render(arg[1])[int(self.render(arg[0]))]
        if fn == "Fn::Split":
            return self.render(arg[1]).split(arg[0])
        if fn == "Fn::Join":
            return arg[0].join(self.render(arg[1]))
        if fn == "Fn::If":
            return self.render(arg[1])
        return {fn: self.render(arg)}


def load_actions() -> dict:
    path = Path(additional_specs.__file__).parent / "Policies.json"
    return json.loads(path.read_text())


def arn_parts(resource: str):
    parts = resource.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else None


def wildcard_problem(resource: str) -> str | None:
    if resource == "*":
        return "is '*'"
    parts = arn_parts(resource)
    if parts is None:
        return "is not an ARN"
    _, partition, service, region, account, rest = parts
    for label, value in (("partition", partition), ("service", service), ("region", region), ("account", account)):
        if "*" in value or "?" in value:
            return f"wildcards the {label}"
    # The resource's own name must be literal (a wildcard may only follow
    # it): the bucket of arn:aws:s3:::<bucket>/<key>, the table of
    # table/<name>/index/<index>, the group of log-group:<name>:*, ...
    if service == "s3":
        name = rest.split("/", 1)[0]
    else:
        kind = re.match(r"[^:/]*[:/]?", rest).group(0)
        remainder = rest[len(kind):] if kind[-1:] in (":", "/") else rest
        name = re.split(":" if service == "logs" else r"[:/]", remainder)[0]
    if not name or "*" in name or "?" in name:
        return "wildcards the resource name"
    return None


def applies(spec: dict, service: str, action: str, resource: str) -> bool:
    """Whether `action` can be granted on `resource`, by cfn-lint's resource
    ARN formats (refined for S3 buckets/objects and DynamoDB tables/indexes,
    which the formats do not tell apart)."""
    svc = spec.get(service, {})
    kinds = svc.get("Actions", {}).get(action.lower(), {}).get("Resources", [])
    if isinstance(kinds, str):
        kinds = [kinds]
    resources = {k.lower(): v for k, v in svc.get("Resources", {}).items()}
    rest = (arn_parts(resource) or [""] * 6)[5]
    for kind in kinds:
        for fmt in resources.get(kind.lower(), {}).get("ARNFormats", []):
            pattern = re.escape(fmt).replace(r"\.\*", ".*")
            pattern = re.sub(r"\\\$\\\{(Partition|Region|Account)\\\}", "[^:]*", pattern)
            if not re.fullmatch(pattern, resource):
                continue
            if service == "s3" and kind.lower() in ("bucket", "object"):
                if (kind.lower() == "object") != ("/" in rest):
                    continue
            if service == "dynamodb" and kind.lower() in ("table", "index"):
                if (kind.lower() == "index") != ("/index/" in rest):
                    continue
            return True
    return False


def main() -> int:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "template.yaml")
    t = Template(path)
    spec = load_actions()
    problems: list[str] = []
    globals_fn = (t.tpl.get("Globals") or {}).get("Function") or {}
    for key in ("Policies", "Role"):
        if key in globals_fn:
            problems.append(f"Globals.Function.{key}: set roles and policies per function")

    for name, res in t.resources.items():
        if res.get("Type") == LOG_GROUP_TYPE and "RetentionInDays" not in (res.get("Properties") or {}):
            problems.append(f"{name}: log group without RetentionInDays")

    functions = [n for n, r in t.resources.items() if r.get("Type") in FUNCTION_TYPES]
    if not functions:
        problems.append("no functions found")
    roles_used: dict[str, str] = {}
    for fn in functions:
        props = t.props(fn)
        fail = lambda msg: problems.append(f"{fn}: {msg}")  # noqa: E731
        for policy in props.get("Policies") or []:
            if isinstance(policy, str):
                fail(f"managed policy {policy!r} in Policies")
            elif isinstance(policy, dict) and len(policy) == 1 and next(iter(policy)).endswith("Policy"):
                template = next(iter(policy))
                kind = "SAM *CrudPolicy template" if template.endswith("CrudPolicy") else "SAM policy template"
                fail(f"{kind} {template} in Policies (use the role's inline statements)")
            elif isinstance(policy, dict) and set(policy) <= {"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join"}:
                fail(f"managed policy {policy} in Policies (put its statements in the function's role)")
            else:
                fail("inline document in SAM Policies (put it in the function's role)")
        role_ref = props.get("Role")
        role = None
        if role_ref is None:
            fail("no explicit Role (SAM would generate one with AWSLambdaBasicExecutionRole: logs on '*')")
        elif isinstance(role_ref, dict) and "Fn::GetAtt" in role_ref:
            att = role_ref["Fn::GetAtt"]
            role, attribute = att if isinstance(att, list) else att.split(".", 1)
            if t.type_of(role) != ROLE_TYPE or attribute != "Arn":
                fail(f"Role must be !GetAtt <AWS::IAM::Role of this template>.Arn, not {role_ref}")
                role = None
        else:
            fail(f"Role must be !GetAtt <AWS::IAM::Role of this template>.Arn, not {role_ref}")
        if role and role in roles_used:
            fail(f"shares role {role} with {roles_used[role]}")
        if role:
            roles_used[role] = fn

        log_group = None
        logging = props.get("LoggingConfig") or {}
        lg_ref = logging.get("LogGroup")
        if isinstance(lg_ref, dict) and t.type_of(lg_ref.get("Ref", "")) == LOG_GROUP_TYPE:
            log_group = lg_ref["Ref"]
        else:
            fail("LoggingConfig.LogGroup must be !Ref an AWS::Logs::LogGroup of this template (with RetentionInDays)")
        own_log_arn = t.get_att(log_group, "Arn") if log_group else None

        grants: dict[str, set[str]] = {}
        if role:
            rp = t.props(role)
            if rp.get("ManagedPolicyArns"):
                fail(f"role {role} has ManagedPolicyArns {rp['ManagedPolicyArns']}")
            inline = rp.get("Policies") or []
            if len(inline) != 1:
                fail(f"role {role} must have exactly one inline policy, has {len(inline)}")
            for other, res in t.resources.items():
                if res.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                    attached = (res.get("Properties") or {}).get("Roles") or []
                    if any(isinstance(r, dict) and r.get("Ref") == role for r in attached):
                        fail(f"{other} is attached to role {role}")
            statements = []
            for policy in inline:
                doc = policy.get("PolicyDocument", {})
                stmts = doc.get("Statement", [])
                statements.extend(stmts if isinstance(stmts, list) else [stmts])
            for i, st in enumerate(statements):
                where = f"role {role} statement {st.get('Sid', i)}"
                if st.get("Effect") != "Allow":
                    continue
                for key in ("NotAction", "NotResource"):
                    if key in st:
                        fail(f"{where}: {key} with Allow")
                actions = st.get("Action", [])
                actions = [actions] if isinstance(actions, str) else list(actions)
                try:
                    resources = t.render(st.get("Resource", []))
                except (ValueError, KeyError, IndexError, TypeError) as e:
                    fail(f"{where}: cannot render Resource: {e}")
                    continue
                resources = [resources] if isinstance(resources, str) else [r for r in resources if r is not None]
                if not actions or not resources:
                    fail(f"{where}: no Action or no Resource")
                valid: list[tuple[str, str]] = []
                for action in actions:
                    if not isinstance(action, str) or ":" not in action:
                        fail(f"{where}: invalid action {action!r}")
                        continue
                    if "*" in action or "?" in action:
                        fail(f"{where}: wildcard action {action}")
                        continue
                    service, name = action.split(":", 1)
                    if name.lower() not in spec.get(service.lower(), {}).get("Actions", {}):
                        fail(f"{where}: unknown action {action}")
                        continue
                    valid.append((service.lower(), name))
                for resource in resources:
                    if not isinstance(resource, str):
                        fail(f"{where}: resource {resource!r} is not a string")
                        continue
                    problem = wildcard_problem(resource)
                    if problem:
                        fail(f"{where}: resource {resource} {problem}")
                    if valid and not any(applies(spec, s, a, resource) for s, a in valid):
                        fail(f"{where}: no action of the statement applies to {resource}")
                for service, action in valid:
                    if not any(applies(spec, service, action, r) for r in resources if isinstance(r, str)):
                        fail(f"{where}: {service}:{action} applies to none of its resources")
                    if service == "logs":
                        others = [r for r in resources if r != own_log_arn]
                        if others:
                            fail(f"{where}: logs:{action} on {others}, not only its own log group")
                    grants.setdefault(f"{service}:{action}", set()).update(
                        r for r in resources if isinstance(r, str)
                    )

        print(f"{fn}: role {role}, log group {log_group}")
        for action in sorted(grants):
            shown = ", ".join(sorted(short(r) for r in grants[action]))
            print(f"    {action:32} {shown}")

    if problems:
        print(f"\ncheck_iam: {len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(f"\ncheck_iam: ok ({len(functions)} functions, one role and one inline policy each, no wildcards)")
    return 0


def short(resource: str) -> str:
    """An ARN without the sample partition/region/account, for reading."""
    parts = arn_parts(resource)
    return f"{parts[2]}:{parts[5]}" if parts else resource


if __name__ == "__main__":
    sys.exit(main())
