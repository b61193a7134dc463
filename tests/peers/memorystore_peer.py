#!/usr/bin/env python3
"""A local Memorystore API for redisctl's peer tests: Memorystore for Redis (redis.googleapis.com v1: instances and clusters, `--api redis`) or Memorystore for Valkey (memorystore.googleapis.com v1: instances, `--api memorystore`).

There is no official Memorystore emulator. This peer's checking comes from Google's own
published API description, not from expectations written here:

* routes, HTTP methods, query parameters (and which are `Required.`), request body schemas,
  field types, enum values and which fields are output only: the discovery document
  `redis.v1.json` shipped in PyPI `google-api-python-client` (its revision is printed);
* the numbers of enum values (clients send `$alt=json;enum-encoding=int`, so enums travel as
  proto numbers, which discovery documents do not carry): the proto enums of PyPI
  `google-cloud-redis` (`google/cloud/redis_v1/types/cloud_redis.py`), `google-cloud-redis-cluster`
  (`google/cloud/redis_cluster_v1/types/cloud_redis_cluster.py`) and
  `googleapis-common-protos` (`google/type/dayofweek.proto`), read as text, never imported;
* for memorystore.googleapis.com, which has no discovery document in google-api-python-client
  (2.202.0 ships redis.v1/v1beta1 only): Google's generated client PyPI `google-cloud-memorystore`
  0.5.6 (its version is printed), read as text and AST, never imported — every route's HTTP
  method, URI template, body and required query parameters from
  `google/cloud/memorystore_v1/services/memorystore/transports/rest_base.py`, every message's
  fields, types, enums with their numbers and "Output only"/"Required"/"Immutable" from the
  docstrings of `google/cloud/memorystore_v1/types/memorystore.py`, `TimeOfDay` from
  `google/type/timeofday.proto`. They are turned into a document of the discovery document's
  shape, so that both APIs are checked by the same code (`Api`). Google's standard system
  parameters and the `google.longrunning.Operation`/`google.rpc.Status` schemas, which that
  package does not describe, are taken from redis.v1.json (the same messages in every API).

Anything the description does not allow — an unknown route, query parameter or body field, a
wrong type or enum value, an output-only field set in a request, an `updateMask` path that is
no field, output only or immutable — is answered the way Google answers it: HTTP 400
`INVALID_ARGUMENT` (404 `NOT_FOUND`, 409 `ALREADY_EXISTS`) in Google's error JSON. Instances are
kept in memory; every mutation returns a long-running operation that completes when it is
polled once `--settle` seconds (default 0) after it started, or at any request after that (Google
finishes the work whether or not anyone polls: an interrupted client finds it done). Each request is appended to the `--log` file as one JSON line. The AUTH string of
an instance is generated here and served only by `GET .../authString`.

Standard library only. Usage: memorystore_peer.py --port N --log FILE [--api redis|memorystore]
"""

import argparse
import ast
import base64
import hashlib
import json
import os
import re
import secrets
import sys
import sysconfig
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

DISCOVERY = "googleapiclient/discovery_cache/documents/redis.v1.json"
ENUM_SOURCES = [
    "google/cloud/redis_v1/types/cloud_redis.py",
    "google/cloud/redis_cluster_v1/types/cloud_redis_cluster.py",
    "google/type/dayofweek.proto",
]
MEMORYSTORE_PACKAGE = "google/cloud/memorystore_v1"
MEMORYSTORE_SOURCES = {
    "routes": f"{MEMORYSTORE_PACKAGE}/services/memorystore/transports/rest_base.py",
    "types": f"{MEMORYSTORE_PACKAGE}/types/memorystore.py",
    "version": f"{MEMORYSTORE_PACKAGE}/gapic_version.py",
    "timeofday": "google/type/timeofday.proto",
    "dayofweek": "google/type/dayofweek.proto",
}
# Per API and collection: the resource schema, its id parameter and pattern (from the id
# parameter's description), the type of an operation's response, the state it settles in.
COLLECTIONS = {
    "redis": {
        "instances": ("Instance", "instanceId", r"[a-z][a-z0-9-]{0,38}[a-z0-9]", "type.googleapis.com/google.cloud.redis.v1.Instance", "READY"),
        "clusters": ("Cluster", "clusterId", r"[a-z][a-z0-9-]{0,38}[a-z0-9]", "type.googleapis.com/google.cloud.redis.cluster.v1.Cluster", "ACTIVE"),
    },
    "memorystore": {
        "instances": ("Instance", "instanceId", r"[a-z0-9][a-z0-9-]{2,61}[a-z0-9]", "type.googleapis.com/google.cloud.memorystore.v1.Instance", "ACTIVE"),
    },
}
METADATA_TYPES = {
    "redis": "type.googleapis.com/google.cloud.redis.v1.OperationMetadata",
    "memorystore": "type.googleapis.com/google.cloud.memorystore.v1.OperationMetadata",
}
EMPTY_TYPE = "type.googleapis.com/google.protobuf.Empty"
NOW = "2026-12-01T00:00:00Z"


class ApiError(Exception):
    def __init__(self, code, status, message):
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


def invalid(message):
    return ApiError(400, "INVALID_ARGUMENT", message)


def locate(rel):
    for base in [sysconfig.get_paths()["purelib"]] + sys.path:
        path = os.path.join(base, rel)
        if os.path.isfile(path):
            return path
    sys.exit(f"memorystore peer: {rel} not found: run scripts/install-test-peers.sh")


def proto_enums():
    """Every enum of the published client types: (qualified class path, {name: number})."""
    enums = []

    def walk(node, path):
        for n in ast.iter_child_nodes(node):
            if isinstance(n, ast.ClassDef):
                if any(getattr(b, "attr", "") == "Enum" for b in n.bases):
                    members = {
                        t.id: a.value.value
                        for a in n.body
                        if isinstance(a, ast.Assign) and isinstance(a.value, ast.Constant)
                        for t in a.targets
                        if isinstance(t, ast.Name)
                    }
                    enums.append((tuple(path + [n.name]), members))
                walk(n, path + [n.name])

    for rel in ENUM_SOURCES:
        text = open(locate(rel), encoding="utf-8").read()
        if rel.endswith(".py"):
            walk(ast.parse(text), [])
        else:
            for name, body in re.findall(r"enum\s+(\w+)\s*\{([^}]*)\}", text):
                enums.append(((name,), {n: int(v) for n, v in re.findall(r"(\w+)\s*=\s*(\d+)\s*;", body)}))
    return enums


# proto-plus scalar types → discovery types.
SCALARS = {
    "STRING": {"type": "string"},
    "BYTES": {"type": "string", "format": "byte"},
    "BOOL": {"type": "boolean"},
    "DOUBLE": {"type": "number"},
    "FLOAT": {"type": "number"},
    **{t: {"type": "integer", "format": "int32"} for t in ("INT32", "SINT32", "UINT32", "FIXED32", "SFIXED32")},
    **{t: {"type": "integer", "format": "int64"} for t in ("INT64", "SINT64", "UINT64", "FIXED64", "SFIXED64")},
}
# Well-known protobuf messages travel as JSON strings.
WELL_KNOWN = {
    "timestamp_pb2.Timestamp": {"type": "string", "format": "google-datetime"},
    "duration_pb2.Duration": {"type": "string", "format": "google-duration"},
    "field_mask_pb2.FieldMask": {"type": "string", "format": "google-fieldmask"},
}


def attribute_docs(doc):
    """`Attributes:` of a proto-plus docstring: {field: description}."""
    out, field, indent = {}, None, None
    lines = (doc or "").splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "Attributes:":
            for line in lines[i + 1:]:
                m = re.match(r"^(\s+)(\w+) \((.+)\):$", line)
                if m and (indent is None or len(m.group(1)) == indent):
                    indent, field = len(m.group(1)), m.group(2)
                    out[field] = ""
                elif field and line.strip():
                    out[field] = (out[field] + " " + line.strip()).strip()
            break
    return out


def enum_schema(members):
    return {"type": "string", "enum": list(members), "enumNumbers": members}


def memorystore_document(redis_doc):
    """The Memorystore (Valkey) API as a discovery-shaped document, from the generated client."""
    tree = ast.parse(open(locate(MEMORYSTORE_SOURCES["types"]), encoding="utf-8").read())
    classes = {}  # qualified name → ClassDef

    def collect(node, path):
        for n in node.body:
            if isinstance(n, ast.ClassDef):
                classes[".".join(path + [n.name])] = n
                collect(n, path + [n.name])

    collect(tree, [])
    day = dict(re.findall(r"(\w+)\s*=\s*(\d+)\s*;", re.search(r"enum DayOfWeek \{([^}]*)\}", open(locate(MEMORYSTORE_SOURCES["dayofweek"]), encoding="utf-8").read()).group(1)))
    tod = re.search(r"message TimeOfDay \{(.*?)\n\}", open(locate(MEMORYSTORE_SOURCES["timeofday"]), encoding="utf-8").read(), re.S).group(1)
    schemas = {
        "TimeOfDay": {"id": "TimeOfDay", "type": "object", "properties": {camel(f): dict(SCALARS[t.upper()]) for t, f in re.findall(r"^\s*(int32|int64|string|bool)\s+(\w+)\s*=", tod, re.M)}},
        "Operation": redis_doc["schemas"]["Operation"],
        "Status": redis_doc["schemas"]["Status"],
    }
    external_enums = {"dayofweek_pb2.DayOfWeek": {k: int(v) for k, v in day.items()}}

    def resolve(node, scope):
        """A `message=`/`enum=` value: a qualified class name, or a well-known/external type."""
        if isinstance(node, ast.Constant):
            name = node.value
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id.endswith("_pb2"):
            return f"{node.value.id}.{node.attr}"
        else:
            name = ast.unparse(node)
        for k in range(len(scope), -1, -1):
            if ".".join(scope[:k] + [name]) in classes:
                return ".".join(scope[:k] + [name])
        raise SystemExit(f"memorystore peer: cannot resolve {name} in {'.'.join(scope)}")

    def enum_members(qual):
        if qual in external_enums:
            return external_enums[qual]
        return {t.id: a.value.value for a in classes[qual].body if isinstance(a, ast.Assign) and isinstance(a.value, ast.Constant) for t in a.targets if isinstance(t, ast.Name) and not t.id.startswith("_")}

    def field_type(kind, keywords, scope):
        if kind == "MESSAGE":
            target = resolve(keywords["message"], scope)
            if target in WELL_KNOWN:
                return dict(WELL_KNOWN[target])
            return {"$ref": "TimeOfDay" if target == "timeofday_pb2.TimeOfDay" else target}
        if kind == "ENUM":
            return enum_schema(enum_members(resolve(keywords["enum"], scope)))
        return dict(SCALARS[kind])

    for qual, cls in classes.items():
        if not any(getattr(b, "attr", "") == "Message" for b in cls.bases):
            continue
        scope = qual.split(".")
        docs = attribute_docs(ast.get_docstring(cls))
        props = {}
        for stmt in cls.body:
            target = stmt.target if isinstance(stmt, ast.AnnAssign) else (stmt.targets[0] if isinstance(stmt, ast.Assign) else None)
            call = getattr(stmt, "value", None)
            if not (isinstance(target, ast.Name) and isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
                continue
            kinds = [a.attr for a in call.args if isinstance(a, ast.Attribute)]
            keywords = {k.arg: k.value for k in call.keywords}
            if call.func.attr == "MapField":
                prop = {"type": "object", "additionalProperties": field_type(kinds[1], keywords, scope)}
            elif call.func.attr == "RepeatedField":
                prop = {"type": "array", "items": field_type(kinds[0], keywords, scope)}
            elif call.func.attr == "Field":
                prop = field_type(kinds[0], keywords, scope)
            else:
                continue
            description = docs.get(target.id, "")
            prop["description"] = description
            if "Output only." in description:
                prop["readOnly"] = True
            props[camel(target.id)] = prop
        schemas[qual] = {"id": qual, "type": "object", "properties": props}

    methods = {}
    routes = ast.parse(open(locate(MEMORYSTORE_SOURCES["routes"]), encoding="utf-8").read())
    for cls in ast.walk(routes):
        if not (isinstance(cls, ast.ClassDef) and cls.name.startswith("_Base") and cls.name != "_BaseMemorystoreRestTransport"):
            continue
        options = [n for n in ast.walk(cls) if isinstance(n, ast.Dict) and any(getattr(k, "value", None) == "uri" for k in n.keys)]
        if not options:
            continue
        option = {k.value: v.value for k, v in zip(options[0].keys, options[0].values)}
        required = next((list(ast.literal_eval(n.value).keys()) for n in ast.walk(cls) if isinstance(n, ast.AnnAssign) and "REQUIRED_FIELDS" in ast.unparse(n.target)), [])
        rpc = cls.name[len("_Base"):]
        uri, _, custom = option["uri"].partition(":") if ":" in option["uri"].rsplit("}", 1)[-1] else (option["uri"], "", "")
        path_fields = [v.split(".")[0] for v in re.findall(r"\{([\w.]+)", uri)]
        flat = re.sub(r"\{[\w.]+=([^}]+)\}", lambda m: re.sub(r"\*+", "{x}", m.group(1)), uri)
        flat = re.sub(r"\{[\w.]+\}", "{x}", flat).lstrip("/") + (f":{custom}" if custom else "")
        segments = flat.split(":")[0].split("/")
        collection = segments[-2] if segments[-1] == "{x}" else segments[-1]
        verb = custom or {"Get": "get", "List": "list", "Create": "create", "Update": "patch", "Delete": "delete"}.get(re.match(r"[A-Z][a-z]+", rpc).group(0), rpc)
        request = schemas.get(f"{rpc}Request", {"properties": {}})
        params = {}
        for name, prop in request["properties"].items():
            snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)
            if snake in path_fields or name == camel(option.get("body", "") or "-"):
                continue
            description = prop.get("description", "")
            if name in required and not description.startswith("Required."):
                description = "Required. " + description
            params[name] = {"location": "query", "description": description}
        method = {"id": f"memorystore.{collection}.{verb}", "httpMethod": option["method"].upper(), "flatPath": flat, "parameters": params}
        if option.get("body") == "*":
            method["request"] = {"$ref": f"{rpc}Request"}
        elif option.get("body"):
            method["request"] = request["properties"][camel(option["body"])]
        methods[rpc] = method
    version = re.search(r'__version__ = "([^"]+)"', open(locate(MEMORYSTORE_SOURCES["version"]), encoding="utf-8").read()).group(1)
    return {
        "id": "memorystore:v1",
        "revision": f"google-cloud-memorystore {version}",
        "parameters": redis_doc["parameters"],
        "schemas": schemas,
        "resources": {"generated": {"methods": methods}},
    }


def pem(subject):
    """A stand-in certificate, distinct per subject (the peer signs nothing)."""
    body = base64.b64encode(hashlib.sha256(subject.encode()).digest()).decode()
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def camel(path):
    head, *rest = path.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class Api:
    def __init__(self, doc):
        self.doc = doc
        self.schemas = doc["schemas"]
        self.system_params = set(doc.get("parameters", {}))
        self.routes = []
        self._walk(doc)
        self.enums = proto_enums()

    def _walk(self, node):
        for res in node.get("resources", {}).values():
            for method in res.get("methods", {}).values():
                pattern = re.sub(r"\\\{[^}]+\\\}", "([^/:]+)", re.escape("/" + method["flatPath"]))
                self.routes.append((method["httpMethod"], re.compile(f"^{pattern}$"), method))
            self._walk(res)

    def route(self, verb, path):
        known_path = False
        for http, regex, method in self.routes:
            if regex.match(path):
                known_path = True
                if http == verb:
                    return method
        if known_path:
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"{verb} is not allowed on {path}")
        raise ApiError(404, "NOT_FOUND", f"The requested URL {path} was not found on this server.")

    def numbers(self, names, context):
        """The proto numbers of the enum with these discovery names. Several published enums can
        share the names with other numbers (`Cluster.State`, `TokenAuthUser.State`): then the
        one of the message and field (`context`: schema id, field name) decides."""
        found = [(path, e) for path, e in self.enums if set(e) == set(names)]
        if len({tuple(sorted(e.items())) for _, e in found}) > 1:
            schema, field = context
            enum = field[:1].upper() + field[1:]
            found = [(p, e) for p, e in found if p == (schema, enum)] or [(p, e) for p, e in found if p == (enum,)]
        if len({tuple(sorted(e.items())) for _, e in found}) != 1:
            raise ApiError(500, "INTERNAL", f"peer: no unique published enum with values {names} ({context})")
        return found[0][1]

    def check(self, value, schema, where, ints, to_ints=False, context=("", ""), request=False):
        """`value` against a discovery schema: the value with enum names (or numbers when
        `to_ints`), or ApiError. `context`: the schema id and field the value is in; `request`:
        the value is sent by a client, which must not set output-only fields."""
        if "$ref" in schema:
            return self.check(value, self.schemas[schema["$ref"]], where, ints, to_ints, context, request)
        kind = schema.get("type")
        if "enum" in schema:
            names = schema["enum"]
            # A document generated from the proto types knows each field's enum numbers itself.
            numbers = schema.get("enumNumbers") or self.numbers(names, context)
            if isinstance(value, int) and not isinstance(value, bool) and ints:
                by_number = {v: k for k, v in numbers.items()}
                if value not in by_number:
                    raise invalid(f"Invalid value at '{where}' ({value}): not a value of the enum")
                value = by_number[value]
            if not isinstance(value, str) or value not in names:
                raise invalid(f"Invalid value at '{where}', \"{value}\": expected one of {', '.join(names)}")
            return numbers[value] if to_ints else value
        if kind == "object" or "properties" in schema:
            if not isinstance(value, dict):
                raise invalid(f"Invalid JSON payload received. '{where}' must be an object")
            if "additionalProperties" in schema and "properties" not in schema:
                return {
                    k: self.check(v, schema["additionalProperties"], f"{where}[{k}]", ints, to_ints, context, request)
                    for k, v in value.items()
                }
            props = schema.get("properties", {})
            out = {}
            for key, v in value.items():
                name = key if key in props else camel(key)
                if key == "@type" or name not in props:
                    raise invalid(f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field.")
                if request and props[name].get("readOnly"):
                    raise invalid(f"Invalid value at '{where}.{name}': the field is output only and cannot be set.")
                out[name] = self.check(v, props[name], f"{where}.{name}", ints, to_ints, (schema.get("id", ""), name), request)
            return out
        if kind == "array":
            if not isinstance(value, list):
                raise invalid(f"Invalid value at '{where}': expected a list")
            return [self.check(v, schema["items"], f"{where}[{i}]", ints, to_ints, context, request) for i, v in enumerate(value)]
        if kind == "integer":
            # int64 travels as a JSON string, int32 as a number (both are accepted by Google).
            if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"-?\d+", value))):
                raise invalid(f"Invalid value at '{where}' ({value!r}): expected an integer")
            return int(value) if schema.get("format") == "int32" else value
        if kind == "number" and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
            raise invalid(f"Invalid value at '{where}' ({value!r}): expected a number")
        if kind == "boolean" and not isinstance(value, bool):
            raise invalid(f"Invalid value at '{where}' ({value!r}): expected a boolean")
        if kind == "string" and not isinstance(value, str):
            raise invalid(f"Invalid value at '{where}' ({value!r}): expected a string")
        return value

    def writable(self, schema_name):
        """The fields an `updateMask` may name: neither output only nor immutable."""
        return {
            k
            for k, v in self.schemas[schema_name]["properties"].items()
            if not v.get("readOnly") and "Immutable." not in v.get("description", "")
        }

    def strip_output_only(self, body, schema_name):
        props = self.schemas[schema_name]["properties"]
        return {k: v for k, v in body.items() if not props.get(k, {}).get("readOnly")}


class Peer:
    def __init__(self, api, api_name, log_path, settle):
        self.api = api
        self.api_name = api_name
        self.collections = COLLECTIONS[api_name]
        self.settle = settle
        self.log_path = log_path
        self.lock = threading.Lock()
        self.instances = {}
        self.auth_strings = {}
        self.operations = {}
        self.response_types = {}
        self.next_ip = 3

    def log(self, entry):
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")

    def handle(self, verb, raw_path, raw_body):
        url = urlsplit(raw_path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        body = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError as e:
                raise invalid(f"Invalid JSON payload received. {e}")
        self.log({"method": verb, "path": url.path, "query": query, "body": body})
        method = self.api.route(verb, url.path)
        params = method.get("parameters", {})
        alt = query.pop("$alt", query.pop("alt", "json"))
        ints = "enum-encoding=int" in alt
        for key in query:
            base = key.lstrip("$")
            if not (params.get(key, {}).get("location") == "query" or base in self.api.system_params):
                raise invalid(f"Invalid JSON payload received. Unknown name \"{key}\": Cannot bind query parameter.")
        for name, p in params.items():
            if p.get("location") == "query" and p.get("description", "").startswith("Required.") and not query.get(name):
                raise invalid(f"{name} is required")
        if "request" in method:
            if not isinstance(body, dict):
                raise invalid("Invalid JSON payload received: a request body is required")
            body = self.api.check(body, method["request"], method["request"]["$ref"].lower(), ints, request=True)
        elif body not in (None, {}):
            raise invalid("Invalid JSON payload received. This method takes no body.")
        resource = "/".join(url.path.split("/")[2:])  # after /v1/
        with self.lock:
            self.finish_settled()
            answer, schema = self.dispatch(method["id"].split(".")[-2:], resource, query, body)
        return self.api.check(answer, {"$ref": schema}, "response", True, to_ints=ints) if schema else answer

    def dispatch(self, op, resource, query, body):
        collection, verb = op
        if collection in self.collections:
            schema, id_param, _, _, _ = self.collections[collection]
            if verb == "create":
                return self.create(collection, resource.rsplit("/", 1)[0], query[id_param], body), "Operation"
            if verb == "get":
                return self.get(resource), schema
            if verb == "getAuthString":
                self.get(resource.rsplit("/", 1)[0])
                return {"authString": self.auth_strings.get(resource.rsplit("/", 1)[0], "")}, "InstanceAuthString"
            if verb == "patch":
                return self.patch(collection, resource, query["updateMask"], body), "Operation"
            if verb == "upgrade":
                return self.upgrade(resource.rsplit(":", 1)[0], body), "Operation"
            if verb == "delete":
                self.get(resource)
                return self.operation(resource, "delete", lambda: self.instances.pop(resource, None) and None), "Operation"
        if collection == "operations" and verb == "get":
            return self.poll(resource), "Operation"
        # The server CA: the resource's own (redis: clusters.getCertificateAuthority; memorystore:
        # GetCertificateAuthority, whose path ends in /certificateAuthority) or the region's shared one.
        if op in (["clusters", "getCertificateAuthority"], ["certificateAuthority", "get"]):
            owner = resource.removesuffix("/certificateAuthority")
            found = self.get(owner)
            if found.get("transitEncryptionMode") not in ("SERVER_AUTHENTICATION", "TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION"):
                raise ApiError(400, "FAILED_PRECONDITION", f"{owner} does not encrypt in transit: it has no server CA")
            return {"name": f"{owner}/certificateAuthority", "managedServerCa": {"caCerts": [{"certificates": [pem(f"ca of {found['uid']}")]}]}}, "CertificateAuthority"
        if op in (["locations", "getSharedRegionalCertificateAuthority"], ["sharedRegionalCertificateAuthority", "get"]):
            location = resource.removesuffix("/sharedRegionalCertificateAuthority")
            return {"name": resource, "managedServerCa": {"caCerts": [{"certificates": [pem(f"shared ca of {location}")]}]}}, "SharedRegionalCertificateAuthority"
        raise ApiError(501, "UNIMPLEMENTED", f"peer: {collection}.{verb} is described by the API but not served here")

    def get(self, name):
        if name not in self.instances:
            raise ApiError(404, "NOT_FOUND", f"Resource '{name}' was not found")
        return self.instances[name]

    def operation(self, target, verb, effect):
        collection = target.split("/")[4]
        location = "/".join(target.split("/")[:4])
        name = f"{location}/operations/operation-{uuid.uuid4().hex[:12]}"
        op = {
            "name": name,
            "done": False,
            "metadata": {"@type": METADATA_TYPES[self.api_name], "createTime": NOW, "target": target, "verb": verb, "apiVersion": "v1"},
        }
        self.response_types[name] = self.collections[collection][3]
        self.operations[name] = (op, effect, time.monotonic())
        return op

    def finish_settled(self):
        for name, (op, _, started) in list(self.operations.items()):
            if not op["done"] and self.settle and time.monotonic() - started >= self.settle:
                self.complete(name)

    def poll(self, name):
        if name not in self.operations:
            raise ApiError(404, "NOT_FOUND", f"Operation '{name}' was not found")
        op, _, started = self.operations[name]
        if not op["done"] and time.monotonic() - started >= self.settle:
            self.complete(name)
        return op

    def complete(self, name):
        op, effect, _ = self.operations[name]
        if not op["done"]:
            result = effect()
            op["done"] = True
            op["metadata"]["endTime"] = NOW
            op["response"] = {"@type": self.response_types[name], **result} if result else {"@type": EMPTY_TYPE}

    def create(self, collection, parent, resource_id, body):
        schema, id_param, id_pattern, _, settled = self.collections[collection]
        if not re.fullmatch(id_pattern, resource_id):
            raise invalid(f"{id_param} '{resource_id}' must match {id_pattern}")
        name = f"{parent}/{collection}/{resource_id}"
        if name in self.instances:
            raise ApiError(409, "ALREADY_EXISTS", f"Resource '{name}' already exists")
        for field, prop in self.api.schemas[schema]["properties"].items():
            if prop.get("description", "").startswith("Required.") and field != "name" and field not in body:
                raise invalid(f"{schema.lower()}.{field} is required")
        body = self.api.strip_output_only(body, schema)
        region = parent.split("/")[3]
        ip = f"10.0.0.{self.next_ip}"
        self.next_ip += 1
        if self.api_name == "memorystore":
            resource = self.valkey_instance(name, body, ip)
        elif collection == "clusters":
            resource = {
                "replicaCount": 0,
                "authorizationMode": "AUTH_MODE_DISABLED",
                "transitEncryptionMode": "TRANSIT_ENCRYPTION_MODE_DISABLED",
                "persistenceConfig": {"mode": "DISABLED"},
                **body,
                "name": name,
                "uid": uuid.uuid4().hex,
                "createTime": NOW,
                "state": "CREATING",
                "discoveryEndpoints": [{"address": ip, "port": 6379}],
            }
        else:
            tls = body.get("transitEncryptionMode") == "SERVER_AUTHENTICATION"
            resource = {
                "redisVersion": "REDIS_7_0",
                "locationId": f"{region}-b",
                "authorizedNetwork": f"projects/{parent.split('/')[1]}/global/networks/default",
                "connectMode": "DIRECT_PEERING",
                "transitEncryptionMode": "DISABLED",
                "readReplicasMode": "READ_REPLICAS_DISABLED",
                "replicaCount": 1 if body.get("tier") == "STANDARD_HA" else 0,
                "persistenceConfig": {"persistenceMode": "DISABLED"},
                **body,
                "name": name,
                "host": ip,
                "port": 6378 if tls else 6379,
                "currentLocationId": body.get("locationId", f"{region}-b"),
                "createTime": NOW,
                "state": "CREATING",
            }
            if tls:
                resource["serverCaCerts"] = [{"serialNumber": "1", "cert": "-----BEGIN CERTIFICATE-----\nMIIBpeer\n-----END CERTIFICATE-----\n", "sha1Fingerprint": "00"}]
            if resource.get("readReplicasMode") == "READ_REPLICAS_ENABLED":
                resource["readEndpoint"], resource["readEndpointPort"] = f"10.0.1.{self.next_ip}", resource["port"]
            if resource.get("authEnabled"):
                self.auth_strings[name] = secrets.token_hex(16)
        self.instances[name] = resource

        def ready():
            resource["state"] = settled
            return resource

        return self.operation(name, "create", ready)

    def patch(self, collection, name, mask, body):
        schema, _, _, _, settled = self.collections[collection]
        resource = self.get(name)
        if body.get("name") not in (None, name):
            raise invalid(f"{schema.lower()}.name '{body.get('name')}' does not match the URL")
        writable = self.api.writable(schema)
        paths = [p.strip() for p in mask.split(",") if p.strip()]
        if not paths:
            raise invalid("updateMask must name at least one field")
        for path in paths:
            if camel(path) not in writable or camel(path) == "name":
                raise invalid(f"Invalid field mask path: '{path}' is not an updatable field of {schema}")
        if resource["state"] != settled:
            raise ApiError(400, "FAILED_PRECONDITION", f"{name} is {resource['state']}")
        resource["state"] = "UPDATING"

        def apply():
            for path in paths:
                field = camel(path)
                if field in body:
                    resource[field] = body[field]
                else:
                    resource.pop(field, None)
            if "authEnabled" in [camel(p) for p in paths]:
                if resource.get("authEnabled"):
                    self.auth_strings[name] = secrets.token_hex(16)
                else:
                    self.auth_strings.pop(name, None)
            resource["state"] = settled
            return resource

        return self.operation(name, "update", apply)

    def valkey_instance(self, name, body, ip):
        """A Memorystore for Valkey instance as Google would report it after a create: the
        defaults the field descriptions name, and each Private Service Connect auto connection
        the request asked for as the endpoints clients use (discovery in cluster mode, primary
        and reader without)."""
        cluster = body.get("mode", "CLUSTER") == "CLUSTER"
        types = ["CONNECTION_TYPE_DISCOVERY"] if cluster else ["CONNECTION_TYPE_PRIMARY", "CONNECTION_TYPE_READER"]
        endpoints = []
        for e, endpoint in enumerate(body.get("endpoints", [])):
            connections = []
            for c in endpoint.get("connections", []):
                auto = c.get("pscAutoConnection")
                for t, kind in enumerate(types if auto else []):
                    connections.append({"pscAutoConnection": {
                        **auto,
                        "port": 6379,
                        "pscConnectionId": uuid.uuid4().hex[:16],
                        "ipAddress": ip if t == 0 else f"10.0.1.{self.next_ip}",
                        "forwardingRule": f"projects/{auto['projectId']}/regions/{name.split('/')[3]}/forwardingRules/fr-{e}-{t}",
                        "serviceAttachment": f"projects/google/regions/{name.split('/')[3]}/serviceAttachments/sa-{t}",
                        "pscConnectionStatus": "ACTIVE",
                        "connectionType": kind,
                    }})
                if not auto:
                    connections.append(c)
            endpoints.append({"connections": connections})
        return {
            "mode": "CLUSTER",
            "shardCount": 1,
            "replicaCount": 0,
            "authorizationMode": "AUTH_DISABLED",
            "transitEncryptionMode": "TRANSIT_ENCRYPTION_DISABLED",
            "persistenceConfig": {"mode": "DISABLED"},
            **body,
            "endpoints": endpoints,
            "name": name,
            "uid": uuid.uuid4().hex,
            "createTime": NOW,
            "state": "CREATING",
        }

    def upgrade(self, name, body):
        instance = self.get(name)
        if not body.get("redisVersion"):
            raise invalid("redisVersion is required")
        instance["state"] = "UPDATING"

        def apply():
            instance["redisVersion"] = body["redisVersion"]
            instance["state"] = "READY"
            return instance

        return self.operation(name, "upgrade", apply)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--settle", type=float, default=0.0, help="seconds before an operation can be done")
    parser.add_argument("--api", choices=sorted(COLLECTIONS), default="redis", help="which Memorystore API to serve")
    args = parser.parse_args()
    path = locate(DISCOVERY)
    doc = json.load(open(path, encoding="utf-8"))
    if args.api == "memorystore":
        doc, path = memorystore_document(doc), locate(MEMORYSTORE_SOURCES["types"])
    peer = Peer(Api(doc), args.api, args.log, args.settle)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self, verb):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                code, answer = 200, peer.handle(verb, self.path, raw)
            except ApiError as e:
                code, answer = e.code, {"error": {"code": e.code, "message": e.message, "status": e.status}}
            data = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

        def do_PATCH(self):
            self._serve("PATCH")

        def do_DELETE(self):
            self._serve("DELETE")

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    # The description's source and version: discovery revision, or the generated client's release.
    source = f"discovery revision {doc['revision']}" if args.api == "redis" else f"described by {doc['revision']}"
    print(f"memorystore peer: {doc['id']} {source} ({path}) on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
