//! Criterion benchmarks for the push protocol's crypto: verifying a server-signed
//! challenge, signing an answer, and RSA-4096 phone key generation (run off the UI
//! thread in the apps).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use authenticator_core::bench_support::{generate_phone_key, sign_answer, verify_challenge};
use criterion::{criterion_group, criterion_main, Criterion};
use ring::signature::{KeyPair, RsaKeyPair};
use std::collections::HashMap;
use std::hint::black_box;

fn push(c: &mut Criterion) {
    let server_pkcs8 = generate_phone_key(4096);
    let server = RsaKeyPair::from_pkcs8(&server_pkcs8).expect("server key");
    let server_pkcs1 = server.public_key().as_ref().to_vec();
    let nonce = "FNO2NEWKB6CCROL5F3BKJTDNGB4HBYCX";
    let url = "https://pi.example/ttype/push";
    let signed =
        format!("{nonce}|{url}|PIPU000099FE|Login for Alice from 127.0.0.1?|privacyIDEA|1");
    let mut msg: HashMap<String, String> = [
        ("nonce", nonce),
        ("url", url),
        ("serial", "PIPU000099FE"),
        ("question", "Login for Alice from 127.0.0.1?"),
        ("title", "privacyIDEA"),
        ("sslverify", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    msg.insert("signature".into(), sign_answer(&server_pkcs8, &signed));
    assert!(verify_challenge(&server_pkcs1, &msg));

    let phone = generate_phone_key(4096);
    let mut g = c.benchmark_group("push");
    g.bench_function("verify_challenge_rsa4096", |b| {
        b.iter(|| black_box(verify_challenge(&server_pkcs1, black_box(&msg))))
    });
    g.bench_function("sign_answer_rsa4096", |b| {
        b.iter(|| {
            black_box(sign_answer(
                &phone,
                black_box("FNO2NEWKB6CCROL5F3BKJTDNGB4HBYCX|PIPU000099FE"),
            ))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("push_keygen");
    g.sample_size(10);
    g.bench_function("rsa4096_phone_key_generation", |b| {
        b.iter(|| black_box(generate_phone_key(4096).len()))
    });
    g.finish();
}

criterion_group!(benches, push);
criterion_main!(benches);
