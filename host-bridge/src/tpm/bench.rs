//! `host-bridge tpm-bench`: the time of each TPM step of a join, measured against a real TPM
//! (or swtpm): SRK primary, device key, transport key, AK, certify, CSR signature.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::attest::{certify_with, create_attestation_key};
use super::keys::{create, sign_digest};
use super::srk::{create_srk, flush};
use super::{Tpm, TpmError};
use crate::keys::KeyPurpose;

/// The steps, in the order a join runs them.
pub const STEPS: [&str; 6] = [
    "primary",
    "device_key",
    "transport_key",
    "attestation_key",
    "certify",
    "csr_signature",
];

/// Run one TPM step and record how long it took under `step` (shared by the PRT bench).
pub(super) fn timed<T, const N: usize>(
    samples: &mut [Vec<Duration>; N],
    step: usize,
    f: impl FnOnce() -> Result<T, TpmError>,
) -> Result<T, TpmError> {
    let start = Instant::now();
    let out = f()?;
    samples[step].push(start.elapsed());
    Ok(out)
}

/// One round of every step.
fn round(tpm: &Tpm, samples: &mut [Vec<Duration>; 6]) -> Result<(), TpmError> {
    let mut context = tpm.connect()?;
    let srk = timed(samples, 0, || create_srk(&mut context))?;
    flush(&mut context, srk);
    drop(context);
    let device = timed(samples, 1, || create(tpm, KeyPurpose::Device))?;
    let transport = timed(samples, 2, || create(tpm, KeyPurpose::Transport))?;
    let ak = timed(samples, 3, || create_attestation_key(tpm))?;
    timed(samples, 4, || certify_with(tpm, &ak, &transport, b"bench"))?;
    let digest = Sha256::digest(b"certificate request");
    timed(samples, 5, || sign_digest(tpm, &device, &digest))?;
    Ok(())
}

/// Median of some durations, in milliseconds.
pub fn median_ms(samples: &[Duration]) -> f64 {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    match ms.len() {
        0 => 0.0,
        n if n % 2 == 1 => ms[n / 2],
        n => (ms[n / 2 - 1] + ms[n / 2]) / 2.0,
    }
}

/// Run `rounds` rounds; returns (step, median ms) in join order. "certify" and
/// "csr_signature" include recreating the SRK and loading the keys, as a join does.
pub fn run(tpm: &Tpm, rounds: usize) -> Result<Vec<(&'static str, f64)>, TpmError> {
    let mut samples: [Vec<Duration>; 6] = Default::default();
    for _ in 0..rounds.max(1) {
        round(tpm, &mut samples)?;
    }
    Ok(STEPS
        .iter()
        .zip(samples.iter())
        .map(|(step, s)| (*step, median_ms(s)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|m| Duration::from_millis(*m))
                .collect::<Vec<_>>()
        };
        assert_eq!(median_ms(&ms(&[5, 1, 3])), 3.0);
        assert_eq!(median_ms(&ms(&[4, 1, 3, 2])), 2.5);
        assert_eq!(median_ms(&[]), 0.0);
    }
}
