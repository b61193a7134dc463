#!/usr/bin/env python3
"""A local Memorystore for Redis API (redis.googleapis.com v1: instances and clusters) for redisctl's peer tests.

There is no official Memorystore emulator. This peer's checking comes from Google's own
published API description, not from expectations written here:

* routes, HTTP methods, query parameters (and which are `Required.`), request body schemas,
  field types, enum values and which fields are output only: the discovery document
  `redis.v1.json` shipped in PyPI `google-api-python-client` (its revision is printed);
* the numbers of enum values (clients send `$alt=json;enum-encoding=int`, so enums travel as
  proto numbers, which discovery documents do not carry): the proto enums of PyPI
  `google-cloud-redis` (`google/cloud/redis_v1/types/cloud_redis.py`), `google-cloud-redis-cluster`
  (`google/cloud/redis_cluster_v1/types/cloud_redis_cluster.py`) and
  `googleapis-common-protos` (`google/type/dayofweek.proto`), read as text, never imported.

Anything the description does not allow is answered the way Google answers it: HTTP 400
`INVALID_ARGUMENT` (404 `NOT_FOUND`, 409 `ALREADY_EXISTS`) in Google's error JSON. Instances are
kept in memory; every mutation returns a long-running operation that completes when it is
polled once `--settle` seconds (default 0) after it started, or at any request after that (Google
finishes the work whether or not anyone polls: an interrupted client finds it done). Each request is appended to the `--log` file as one JSON line. The AUTH string of
an instance is generated here and served only by `GET .../authString`.

Standard library only. Usage: memorystore_peer.py --port N --log FILE
"""

import argparse
import ast
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
# Per collection: the resource schema, its id parameter, the type of an operation's response,
# the state it settles in.
COLLECTIONS = {
    "instances": ("Instance", "instanceId", "type.googleapis.com/google.cloud.redis.v1.Instance", "READY"),
    "clusters": ("Cluster", "clusterId", "type.googleapis.com/google.cloud.redis.cluster.v1.Cluster", "ACTIVE"),
}
METADATA_TYPE = "type.googleapis.com/google.cloud.redis.v1.OperationMetadata"
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

    def check(self, value, schema, where, ints, to_ints=False, context=("", "")):
        """`value` against a discovery schema: the value with enum names (or numbers when
        `to_ints`), or ApiError. `context`: the schema id and field the value is in."""
        if "$ref" in schema:
            return self.check(value, self.schemas[schema["$ref"]], where, ints, to_ints, context)
        kind = schema.get("type")
        if "enum" in schema:
            names = schema["enum"]
            if isinstance(value, int) and not isinstance(value, bool) and ints:
                by_number = {v: k for k, v in self.numbers(names, context).items()}
                if value not in by_number:
                    raise invalid(f"Invalid value at '{where}' ({value}): not a value of the enum")
                value = by_number[value]
            if not isinstance(value, str) or value not in names:
                raise invalid(f"Invalid value at '{where}', \"{value}\": expected one of {', '.join(names)}")
            return self.numbers(names, context)[value] if to_ints else value
        if kind == "object" or "properties" in schema:
            if not isinstance(value, dict):
                raise invalid(f"Invalid JSON payload received. '{where}' must be an object")
            if "additionalProperties" in schema and "properties" not in schema:
                return {
                    k: self.check(v, schema["additionalProperties"], f"{where}[{k}]", ints, to_ints, context)
                    for k, v in value.items()
                }
            props = schema.get("properties", {})
            out = {}
            for key, v in value.items():
                name = key if key in props else camel(key)
                if key == "@type" or name not in props:
                    raise invalid(f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field.")
                out[name] = self.check(v, props[name], f"{where}.{name}", ints, to_ints, (schema.get("id", ""), name))
            return out
        if kind == "array":
            if not isinstance(value, list):
                raise invalid(f"Invalid value at '{where}': expected a list")
            return [self.check(v, schema["items"], f"{where}[{i}]", ints, to_ints, context) for i, v in enumerate(value)]
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
        return {k for k, v in self.schemas[schema_name]["properties"].items() if not v.get("readOnly")}

    def strip_output_only(self, body, schema_name):
        props = self.schemas[schema_name]["properties"]
        return {k: v for k, v in body.items() if not props.get(k, {}).get("readOnly")}


class Peer:
    def __init__(self, api, log_path, settle):
        self.api = api
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
            body = self.api.check(body, method["request"], method["request"]["$ref"].lower(), ints)
        elif body not in (None, {}):
            raise invalid("Invalid JSON payload received. This method takes no body.")
        resource = "/".join(url.path.split("/")[2:])  # after /v1/
        with self.lock:
            self.finish_settled()
            answer, schema = self.dispatch(method["id"].split(".")[-2:], resource, query, body)
        return self.api.check(answer, {"$ref": schema}, "response", True, to_ints=ints) if schema else answer

    def dispatch(self, op, resource, query, body):
        collection, verb = op
        if collection in COLLECTIONS:
            schema, id_param, _, _ = COLLECTIONS[collection]
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
            "metadata": {"@type": METADATA_TYPE, "createTime": NOW, "target": target, "verb": verb, "apiVersion": "v1"},
        }
        self.response_types[name] = COLLECTIONS[collection][2]
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
        schema, _, _, settled = COLLECTIONS[collection]
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,38}[a-z0-9]", resource_id):
            raise invalid(f"'{resource_id}' must be 2-40 lower case letters, digits and hyphens")
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
        if collection == "clusters":
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
        schema, _, _, settled = COLLECTIONS[collection]
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
    args = parser.parse_args()
    path = locate(DISCOVERY)
    doc = json.load(open(path, encoding="utf-8"))
    peer = Peer(Api(doc), args.log, args.settle)

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
    print(f"memorystore peer: {doc['id']} discovery revision {doc['revision']} ({path}) on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
