//! Android only: hands the app's Context to `rustls-platform-verifier`, so TLS is
//! verified by Android's own trust manager (with the user's and the MDM's CAs). Called
//! once from the Kotlin shell (`org.authcore.app.PlatformTls.init(context)`) before
//! the first network call, as the crate's README documents.

use jni::objects::{JClass, JObject};
use jni::EnvUnowned;

/// `PlatformTls.init(context)`: a static native method of the Kotlin object
/// `org.authcore.app.PlatformTls`. Errors surface as the verifier failing later
/// (every TLS request then fails closed), never as a crash here.
#[export_name = "Java_org_authcore_app_PlatformTls_init"]
pub extern "C" fn authcore_android_init_platform_tls(
    mut env: EnvUnowned<'_>,
    _class: JClass,
    context: JObject,
) {
    let _ = env
        .with_env(|env| rustls_platform_verifier::android::init_with_env(env, context))
        .into_outcome();
}
