"""Every kustomization renders, and every rendered object satisfies the
Kubernetes OpenAPI schema of each supported version, strictly (an unknown or
misspelled field is an error, as `kubectl apply --validate=strict` would say).

Objects of CustomResourceDefinitions (Prometheus Operator) have no schema in
kubernetes-validate; they are checked against the subset of their CRD schema
that these manifests use (CRD_SCHEMAS below), also strictly.
"""

from __future__ import annotations

import jsonschema
import kubernetes_validate
import pytest

from conftest import SCHEMA_VERSIONS, kustomize_targets, render

_duration = {"type": "string", "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}
_string_map = {"type": "object", "additionalProperties": {"type": "string"}}
_metadata = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "namespace": {"type": "string"},
        "labels": _string_map,
        "annotations": _string_map,
    },
    "additionalProperties": False,
}
_rule = {
    "type": "object",
    "required": ["expr"],
    "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
    "properties": {
        "alert": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
        "record": {"type": "string"},
        "expr": {"type": "string", "minLength": 1},
        "for": _duration,
        "keep_firing_for": _duration,
        "labels": _string_map,
        "annotations": _string_map,
    },
    "additionalProperties": False,
}
# The parts of monitoring.coreos.com/v1 (prometheus-operator's CRDs) in use here.
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "PrometheusRule"): {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "PrometheusRule"},
            "metadata": _metadata,
            "spec": {
                "type": "object",
                "required": ["groups"],
                "properties": {
                    "groups": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["name", "rules"],
                            "properties": {
                                "name": {"type": "string", "minLength": 1},
                                "interval": _duration,
                                "rules": {"type": "array", "minItems": 1, "items": _rule},
                            },
                            "additionalProperties": False,
                        },
                    }
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
    ("monitoring.coreos.com/v1", "PodMonitor"): {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "PodMonitor"},
            "metadata": _metadata,
            "spec": {
                "type": "object",
                "required": ["selector", "podMetricsEndpoints"],
                "properties": {
                    "jobLabel": {"type": "string"},
                    "selector": {
                        "type": "object",
                        "properties": {"matchLabels": _string_map},
                        "additionalProperties": False,
                    },
                    "namespaceSelector": {"type": "object"},
                    "podMetricsEndpoints": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "properties": {
                                "port": {"type": "string"},
                                "path": {"type": "string", "pattern": "^/"},
                                "scheme": {"enum": ["http", "https"]},
                                "interval": _duration,
                                "scrapeTimeout": _duration,
                            },
                            "additionalProperties": False,
                        },
                    },
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
}


@pytest.mark.parametrize("target", kustomize_targets())
def test_renders(target):
    rendered = render(target)
    assert rendered.docs, f"k8s/{target} rendered no objects"
    for doc in rendered.docs:
        assert doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"), doc


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
@pytest.mark.parametrize("target", kustomize_targets())
def test_schema(target, version):
    rendered = render(target)
    errors = []
    for doc in rendered.docs:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        crd_schema = CRD_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
        if crd_schema is not None:
            for error in jsonschema.Draft202012Validator(crd_schema).iter_errors(doc):
                path = ".".join(str(p) for p in error.absolute_path)
                errors.append(f"{name} (CRD subset schema): {path}: {error.message}")
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            errors.append(f"{name}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            # Not skipped silently: an object with no schema must be added to
            # CRD_SCHEMAS (a custom resource) or is a typo in apiVersion/kind.
            errors.append(f"{name}: {error.message}")
    assert not errors, f"k8s/{target} against Kubernetes {version}:\n" + "\n".join(errors)
