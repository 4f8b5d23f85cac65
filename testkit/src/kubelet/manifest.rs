//! Reads a pod's containers and their probes from a Deployment manifest
//! (`k8s/base/deployment.yaml`): native sidecars (`initContainers` with
//! `restartPolicy: Always`) and main containers, `terminationGracePeriodSeconds` of the
//! pod and of each probe,
//! with the API's defaults and validation, so the manifests and the tests cannot
//! disagree: change a probe there and the scenarios run with the new numbers.
//!
//! Only `httpGet` probes over HTTP are emulated; anything else is an error that says so.

use std::path::Path;

use serde_norway::Value;

use super::timeline::ProbeKind;

/// `httpGet`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpGet {
    pub path: String,
    /// A number; a port name is resolved among the container's own ports.
    pub port: u16,
    /// `httpGet.host`; the pod IP when absent.
    pub host: Option<String>,
    pub headers: Vec<(String, String)>,
}

/// One probe, with the API's defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeSpec {
    pub kind: ProbeKind,
    pub http: HttpGet,
    pub initial_delay_seconds: u32,
    pub period_seconds: u32,
    pub timeout_seconds: u32,
    pub success_threshold: u32,
    pub failure_threshold: u32,
    /// The probe's own `terminationGracePeriodSeconds` (liveness and startup only):
    /// wins over the pod's for a kill this probe ordered.
    pub termination_grace_period_seconds: Option<u32>,
}

impl ProbeSpec {
    /// A probe as written with only `httpGet` set: every number at its default.
    pub fn http(kind: ProbeKind, path: &str, port: u16) -> ProbeSpec {
        ProbeSpec {
            kind,
            http: HttpGet {
                path: path.to_string(),
                port,
                host: None,
                headers: Vec::new(),
            },
            initial_delay_seconds: 0,
            period_seconds: 10,
            timeout_seconds: 1,
            success_threshold: 1,
            failure_threshold: 3,
            termination_grace_period_seconds: None,
        }
    }

    /// The API server's validation of the numbers.
    pub fn validate(&self) -> Result<(), String> {
        let name = self.kind.as_str();
        if self.period_seconds < 1 || self.timeout_seconds < 1 || self.failure_threshold < 1 {
            return Err(format!(
                "{name}Probe: periodSeconds, timeoutSeconds and failureThreshold must be at least 1"
            ));
        }
        if self.success_threshold < 1 {
            return Err(format!("{name}Probe: successThreshold must be at least 1"));
        }
        if self.kind != ProbeKind::Readiness && self.success_threshold != 1 {
            return Err(format!("{name}Probe: successThreshold must be 1"));
        }
        if self.kind == ProbeKind::Readiness && self.termination_grace_period_seconds.is_some() {
            return Err(format!(
                "{name}Probe: terminationGracePeriodSeconds is only for liveness and startup"
            ));
        }
        Ok(())
    }
}

/// The parts of a container the emulator needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerSpec {
    pub name: String,
    pub probes: Vec<ProbeSpec>,
    /// `lifecycle.preStop.sleep.seconds`: the container keeps running this long after
    /// the kill is decided.
    pub pre_stop_sleep_seconds: u32,
}

impl ContainerSpec {
    pub fn probe(&self, kind: ProbeKind) -> Option<&ProbeSpec> {
        self.probes.iter().find(|p| p.kind == kind)
    }
}

/// The pod of the first Deployment in a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodSpec {
    /// Native sidecars, in start order.
    pub sidecars: Vec<ContainerSpec>,
    pub containers: Vec<ContainerSpec>,
    /// The pod's `terminationGracePeriodSeconds` (default 30).
    pub termination_grace_period_seconds: u32,
}

impl PodSpec {
    pub fn container(&self, name: &str) -> Option<&ContainerSpec> {
        self.sidecars
            .iter()
            .chain(&self.containers)
            .find(|c| c.name == name)
    }
}

/// The pod of the first Deployment in `manifest`.
pub fn read_pod(manifest: &Path) -> Result<PodSpec, String> {
    let text =
        std::fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    parse_pod(&text).map_err(|e| format!("{}: {e}", manifest.display()))
}

/// The container `name` of the first Deployment in `manifest`.
pub fn read_container(manifest: &Path, name: &str) -> Result<ContainerSpec, String> {
    read_pod(manifest)?
        .container(name)
        .cloned()
        .ok_or_else(|| format!("{}: no container named {name:?}", manifest.display()))
}

pub fn parse_container(text: &str, name: &str) -> Result<ContainerSpec, String> {
    parse_pod(text)?
        .container(name)
        .cloned()
        .ok_or_else(|| format!("no container named {name:?}"))
}

pub fn parse_pod(text: &str) -> Result<PodSpec, String> {
    use serde::Deserialize;
    let mut deployment = None;
    for document in serde_norway::Deserializer::from_str(text) {
        let value = Value::deserialize(document).map_err(|e| e.to_string())?;
        if value["kind"].as_str() == Some("Deployment") {
            deployment = Some(value);
            break;
        }
    }
    let deployment = deployment.ok_or("no Deployment in the manifest")?;
    let pod = &deployment["spec"]["template"]["spec"];
    let mut sidecars = Vec::new();
    for init in pod["initContainers"].as_sequence().into_iter().flatten() {
        if init["restartPolicy"].as_str() != Some("Always") {
            return Err(format!(
                "initContainers[{}]: only native sidecars (restartPolicy: Always) are emulated",
                init["name"].as_str().unwrap_or("?")
            ));
        }
        sidecars.push(parse_one(init)?);
    }
    let containers = pod["containers"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(parse_one)
        .collect::<Result<Vec<_>, _>>()?;
    let termination_grace_period_seconds = match &pod["terminationGracePeriodSeconds"] {
        Value::Null => 30,
        value => value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or("terminationGracePeriodSeconds: not a whole number")?,
    };
    Ok(PodSpec {
        sidecars,
        containers,
        termination_grace_period_seconds,
    })
}

fn parse_one(container: &Value) -> Result<ContainerSpec, String> {
    let name = container["name"]
        .as_str()
        .ok_or("a container without a name")?;
    let mut probes = Vec::new();
    for (key, kind) in [
        ("startupProbe", ProbeKind::Startup),
        ("livenessProbe", ProbeKind::Liveness),
        ("readinessProbe", ProbeKind::Readiness),
    ] {
        let probe = &container[key];
        if !probe.is_null() {
            probes.push(parse_probe(probe, kind, container).map_err(|e| format!("{name}: {e}"))?);
        }
    }
    let pre_stop = &container["lifecycle"]["preStop"];
    let pre_stop_sleep_seconds = match &pre_stop["sleep"]["seconds"] {
        Value::Null if pre_stop.is_null() => 0,
        Value::Null => return Err("lifecycle.preStop: only the sleep action is emulated".into()),
        seconds => seconds
            .as_u64()
            .and_then(|s| u32::try_from(s).ok())
            .ok_or("lifecycle.preStop.sleep.seconds: not a whole number")?,
    };
    Ok(ContainerSpec {
        name: name.to_string(),
        probes,
        pre_stop_sleep_seconds,
    })
}

fn parse_probe(probe: &Value, kind: ProbeKind, container: &Value) -> Result<ProbeSpec, String> {
    let key = format!("{}Probe", kind.as_str());
    let http = &probe["httpGet"];
    if http.is_null() {
        return Err(format!("{key}: only httpGet probes are emulated"));
    }
    if let Some(scheme) = http["scheme"].as_str() {
        if !scheme.eq_ignore_ascii_case("HTTP") {
            return Err(format!("{key}: scheme {scheme} is not emulated"));
        }
    }
    let port = match &http["port"] {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(port_name) => container["ports"]
            .as_sequence()
            .into_iter()
            .flatten()
            .find(|p| p["name"].as_str() == Some(port_name))
            .and_then(|p| p["containerPort"].as_u64())
            .and_then(|n| u16::try_from(n).ok()),
        _ => None,
    }
    .ok_or_else(|| {
        format!("{key}.httpGet.port: not a port number or a name of this container's ports")
    })?;
    let headers = http["httpHeaders"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|h| {
            (
                h["name"].as_str().unwrap_or_default().to_string(),
                h["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let mut spec = ProbeSpec::http(kind, http["path"].as_str().unwrap_or("/"), port);
    spec.http.host = http["host"].as_str().map(str::to_string);
    spec.http.headers = headers;
    let number = |field: &str, default: u32| -> Result<u32, String> {
        match &probe[field] {
            Value::Null => Ok(default),
            value => value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| format!("{key}.{field}: not a whole number")),
        }
    };
    spec.initial_delay_seconds = number("initialDelaySeconds", spec.initial_delay_seconds)?;
    spec.period_seconds = number("periodSeconds", spec.period_seconds)?;
    spec.timeout_seconds = number("timeoutSeconds", spec.timeout_seconds)?;
    spec.success_threshold = number("successThreshold", spec.success_threshold)?;
    spec.failure_threshold = number("failureThreshold", spec.failure_threshold)?;
    if !probe["terminationGracePeriodSeconds"].is_null() {
        spec.termination_grace_period_seconds = Some(number("terminationGracePeriodSeconds", 0)?);
    }
    spec.validate()?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
apiVersion: v1
kind: Service
---
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: app
          ports: [{name: http, containerPort: 8080}]
          livenessProbe:
            httpGet: {path: /livez, port: http}
          readinessProbe:
            httpGet:
              path: /readyz
              port: 9090
              httpHeaders: [{name: Accept, value: ""}]
            periodSeconds: 5
            successThreshold: 2
          lifecycle: {preStop: {sleep: {seconds: 7}}}
"#;

    #[test]
    fn defaults_names_and_headers_are_applied() {
        let spec = parse_container(MANIFEST, "app").expect("parses");
        let live = spec.probe(ProbeKind::Liveness).expect("liveness");
        assert_eq!(
            live.http.port, 8080,
            "a port name resolves among the container's ports"
        );
        assert_eq!(
            (
                live.period_seconds,
                live.timeout_seconds,
                live.failure_threshold
            ),
            (10, 1, 3)
        );
        let ready = spec.probe(ProbeKind::Readiness).expect("readiness");
        assert_eq!((ready.period_seconds, ready.success_threshold), (5, 2));
        assert_eq!(
            ready.http.headers,
            vec![("Accept".to_string(), String::new())]
        );
        assert!(spec.probe(ProbeKind::Startup).is_none());
        assert_eq!(spec.pre_stop_sleep_seconds, 7);
    }

    #[test]
    fn what_the_api_rejects_is_rejected() {
        let bad = MANIFEST.replace(
            "httpGet: {path: /livez, port: http}",
            "httpGet: {path: /, port: http}\n            successThreshold: 2",
        );
        assert!(parse_container(&bad, "app").is_err());
        let tcp = MANIFEST.replace(
            "httpGet: {path: /livez, port: http}",
            "tcpSocket: {port: 80}",
        );
        assert!(parse_container(&tcp, "app").is_err());
        assert!(parse_container(MANIFEST, "other").is_err());
    }
}
