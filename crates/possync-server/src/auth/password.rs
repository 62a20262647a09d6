//! Password (and PIN) hashes: argon2id, run off the async workers and never
//! more at once than the machine has cores.
//!
//! One argon2id run with the default parameters takes 19 MiB and tens of
//! milliseconds of one core. Run unbounded, a burst of logins would take the
//! memory of the machine; so every hash and every check goes through one
//! [`PasswordChecker`], which holds a semaphore with as many permits as cores.
//! Callers beyond that wait in a bounded line; past the line they are told to
//! come back later ([`PasswordCheckError::Busy`], answered 429 with `Retry-After`).
//! The permit travels with the job, so a client that hangs up while its hash
//! runs cannot let a new hash start before the old one has ended.
//!
//! The runs happen on the checker's own threads, one per permit, each reusing
//! one block of argon2 memory ([`ReusedMemoryArgon2`]). Letting argon2 allocate
//! its 19 MiB per run is not enough: the blocks are 64-byte aligned, and the
//! system allocator keeps each freed aligned block but cannot fit the next
//! aligned request into it, so the resident memory grew by about ten blocks
//! (some 200 MiB) even with the runs one at a time. With the memory reused,
//! the password checks hold exactly permits × 19 MiB, however many logins come.

use argon2::password_hash::{
    self, Decimal, Ident, Output, ParamsString, PasswordHash, PasswordHasher, PasswordVerifier,
    Salt, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use possync_core::Password;
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, mpsc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

/// Why a password could not be hashed (a bug or an exhausted machine, never the input).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordHashError(String);

/// Hashes a password with argon2id and a random salt, as a PHC string.
/// Slow on purpose, and it allocates its own memory: the server goes through
/// [`PasswordChecker::hash`]; this is for the command line and tests.
pub fn hash_password(password: &Password) -> Result<String, PasswordHashError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_str().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| PasswordHashError(error.to_string()))
}

/// Checks a password against a PHC string; a malformed hash never matches.
pub fn verify_password(password: &str, password_hash: &str) -> bool {
    match PasswordHash::new(password_hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// argon2 blocks (1 KiB each) a stored hash may ask for: 64 MiB. A hash asking
/// for more never matches rather than letting a row in the database size the memory.
pub const ARGON2_BLOCKS_MAX: usize = 64 * 1024;

/// argon2 (any variant and version a PHC string names) computed in memory the
/// caller keeps, so repeated runs on one thread reuse one block of memory.
///
/// It implements [`PasswordHasher`], so checking goes through the
/// `password-hash` crate's own verifier and its constant-time comparison.
#[derive(Debug)]
pub struct ReusedMemoryArgon2<'m> {
    memory: RefCell<&'m mut Vec<Block>>,
}

impl<'m> ReusedMemoryArgon2<'m> {
    pub fn new(memory: &'m mut Vec<Block>) -> ReusedMemoryArgon2<'m> {
        ReusedMemoryArgon2 {
            memory: RefCell::new(memory),
        }
    }

    /// A new PHC string for `secret` with a random salt and the default parameters.
    pub fn hash_new(&self, secret: &str) -> Result<String, PasswordHashError> {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        self.hash_password(secret.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| PasswordHashError(error.to_string()))
    }

    /// Whether `secret` matches the PHC string `stored`; a malformed hash never matches.
    pub fn matches(&self, secret: &str, stored: &str) -> bool {
        PasswordHash::new(stored)
            .is_ok_and(|parsed| self.verify_password(secret.as_bytes(), &parsed).is_ok())
    }
}

impl PasswordHasher for ReusedMemoryArgon2<'_> {
    type Params = Params;

    fn hash_password_customized<'a>(
        &self,
        password: &[u8],
        algorithm: Option<Ident<'a>>,
        version: Option<Decimal>,
        params: Params,
        salt: impl Into<Salt<'a>>,
    ) -> password_hash::Result<PasswordHash<'a>> {
        let algorithm = algorithm
            .map(Algorithm::try_from)
            .transpose()?
            .unwrap_or_default();
        let version = version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let n_blocks = params.block_count();
        if n_blocks > ARGON2_BLOCKS_MAX {
            return Err(password_hash::Error::ParamValueInvalid(
                password_hash::errors::InvalidValue::TooLong,
            ));
        }
        let mut memory = self.memory.borrow_mut();
        if memory.len() < n_blocks {
            memory.resize(n_blocks, Block::default());
        }
        let salt = salt.into();
        let mut salt_buffer = [0u8; Salt::MAX_LENGTH];
        let salt_bytes = salt.decode_b64(&mut salt_buffer)?;
        let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let output = Output::init_with(output_len, |out| {
            argon2
                .hash_password_into_with_memory(password, salt_bytes, out, &mut memory[..n_blocks])
                .map_err(password_hash::Error::from)
        })?;
        Ok(PasswordHash {
            algorithm: algorithm.ident(),
            version: Some(Decimal::from(version)),
            params: ParamsString::try_from(&params)?,
            salt: Some(salt),
            hash: Some(output),
        })
    }
}

/// A hash of a fixed secret, checked when there is no real hash to check, so an
/// unknown login costs the same time as a wrong password.
fn dummy_password_hash(argon2: &ReusedMemoryArgon2<'_>) -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        argon2
            .hash_new("possync-dummy-password")
            .unwrap_or_default()
    })
}

/// Why a check or a hash did not run to an answer.
#[derive(Debug, thiserror::Error)]
pub enum PasswordCheckError {
    /// Every permit is taken and the line of waiting callers is full: try again shortly.
    #[error("too many password checks at once")]
    Busy,
    /// The blocking task failed (a bug or an exhausted machine).
    #[error("{0}")]
    Failed(String),
}

impl From<PasswordCheckError> for crate::error::ApiError {
    fn from(error: PasswordCheckError) -> crate::error::ApiError {
        match error {
            PasswordCheckError::Busy => crate::error::ApiError::rate_limited(
                "too many password checks at once; try again in a second",
            )
            .with_retry_after(1),
            PasswordCheckError::Failed(cause) => crate::error::ApiError::internal(cause),
        }
    }
}

/// One argon2 run for a checker thread, given that thread's reused memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send + 'static>;

/// The one gate every argon2 run passes through. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct PasswordChecker {
    permits: Arc<Semaphore>,
    parallel_max: usize,
    waiting: AtomicUsize,
    waiting_max: usize,
    /// Jobs for the checker threads; they end when this is dropped.
    jobs: Mutex<mpsc::Sender<Job>>,
}

/// Counts a caller in the waiting line for as long as it waits, even if its
/// request is dropped while waiting.
struct WaitingInLine<'a>(&'a AtomicUsize);

impl Drop for WaitingInLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PasswordChecker {
    /// At most `parallel_max` argon2 runs at once (at least one), and at most
    /// `waiting_max` callers waiting for a turn.
    pub fn new(parallel_max: usize, waiting_max: usize) -> PasswordChecker {
        let parallel_max = parallel_max.max(1);
        let (jobs, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..parallel_max {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("possync-argon2-{n}"))
                .spawn(move || {
                    let mut memory: Vec<Block> = Vec::new();
                    loop {
                        // Only the wait for a job holds the lock, never the run.
                        let job = receiver
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .recv();
                        match job {
                            Ok(job) => job(&mut memory),
                            Err(_) => break,
                        }
                    }
                });
            if let Err(error) = spawned {
                // Fewer threads only means fewer runs at once; one is enough to answer.
                tracing::error!(%error, "could not start a password-check thread");
            }
        }
        PasswordChecker {
            permits: Arc::new(Semaphore::new(parallel_max)),
            parallel_max,
            waiting: AtomicUsize::new(0),
            waiting_max,
            jobs: Mutex::new(jobs),
        }
    }

    /// The number of cores this process may use: the default of `parallel_max`.
    pub fn machine_parallelism() -> usize {
        std::thread::available_parallelism().map_or(1, usize::from)
    }

    pub fn parallel_max(&self) -> usize {
        self.parallel_max
    }

    /// Runs `work` on a checker thread once a permit is free, holding the permit until it ends.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&ReusedMemoryArgon2<'_>) -> T + Send + 'static,
    ) -> Result<T, PasswordCheckError> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // Count first, then compare: two callers can never both take the last place.
                let waiting_before = self.waiting.fetch_add(1, Ordering::AcqRel);
                let _in_line = WaitingInLine(&self.waiting);
                if waiting_before >= self.waiting_max {
                    return Err(PasswordCheckError::Busy);
                }
                self.permits
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|closed| PasswordCheckError::Failed(closed.to_string()))?
            }
        };
        let (answer_sender, answer) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let answer = work(&ReusedMemoryArgon2::new(memory));
            // The run is over: the next one may start before this caller hears back.
            drop::<OwnedSemaphorePermit>(permit);
            // The caller may have gone; the run counted against the bound all the same.
            let _ = answer_sender.send(answer);
        });
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job)
            .map_err(|_| PasswordCheckError::Failed("the password-check threads stopped".into()))?;
        answer.await.map_err(|_| {
            PasswordCheckError::Failed("a password check ended without an answer".into())
        })
    }

    /// Hashes a new password or PIN.
    pub async fn hash(&self, secret: String) -> Result<String, PasswordCheckError> {
        self.run(move |argon2| argon2.hash_new(&secret))
            .await?
            .map_err(|error| PasswordCheckError::Failed(error.to_string()))
    }

    /// Checks a secret against a stored hash. Without a stored hash it still spends
    /// the same time on a dummy hash and answers `false`, so an unknown login cannot
    /// be told from a wrong password by timing.
    pub async fn verify(
        &self,
        secret: String,
        stored_hash: Option<String>,
    ) -> Result<bool, PasswordCheckError> {
        self.run(move |argon2| match stored_hash {
            Some(stored_hash) => argon2.matches(&secret, &stored_hash),
            None => {
                let _ = argon2.matches(&secret, dummy_password_hash(argon2));
                false
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip_through_argon2() {
        let password = Password::parse("correct horse").unwrap();
        let hash = hash_password(&password).unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(
            hash,
            hash_password(&password).unwrap(),
            "a random salt per hash"
        );
    }

    #[test]
    fn reused_memory_hashes_are_standard_argon2id_and_check_either_way() {
        let mut memory = Vec::new();
        let argon2 = ReusedMemoryArgon2::new(&mut memory);
        let ours = argon2.hash_new("1234").unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        assert!(
            verify_password("1234", &ours),
            "the argon2 crate accepts ours"
        );
        let theirs = hash_password(&Password::parse("correct horse").unwrap()).unwrap();
        assert!(
            argon2.matches("correct horse", &theirs),
            "we accept the argon2 crate's"
        );
        assert!(!argon2.matches("correct horsE", &theirs));
        assert!(!argon2.matches("1235", &ours));
        assert!(!argon2.matches("1234", "not a hash"));
        assert_eq!(
            argon2.memory.borrow().len(),
            19_456,
            "one block of default size, reused"
        );
        // Other parameters and variants a PHC string may name are honoured.
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(64, 1, 1, None).unwrap(),
        );
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let small = argon2i.hash_password(b"pin", &salt).unwrap().to_string();
        assert!(argon2.matches("pin", &small), "{small}");
        // A stored hash cannot make us allocate more than the bound.
        let huge = small.replace("m=64", &format!("m={}", 2 * ARGON2_BLOCKS_MAX));
        assert!(!argon2.matches("pin", &huge));
        assert_eq!(memory.len(), 19_456, "never grown for the refused hash");
    }

    #[tokio::test]
    async fn the_checker_answers_like_argon2_and_knows_no_hash_as_a_mismatch() {
        let checker = PasswordChecker::new(1, 4);
        let hash = checker.hash("1234".to_owned()).await.unwrap();
        assert!(
            checker
                .verify("1234".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!checker.verify("4321".into(), Some(hash)).await.unwrap());
        assert!(!checker.verify("1234".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn callers_past_the_permits_and_the_line_are_told_busy_and_the_rest_get_answers() {
        // One permit, one place in line: of many callers at once, the first runs,
        // the second waits, and every further one is refused at once.
        let checker = Arc::new(PasswordChecker::new(1, 1));
        let gate = Arc::new(std::sync::Barrier::new(2));
        let holder = {
            let checker = checker.clone();
            let gate = gate.clone();
            tokio::spawn(async move {
                checker
                    .run(move |_| {
                        gate.wait(); // started: the permit is taken
                        gate.wait(); // released by the test
                    })
                    .await
            })
        };
        let started = gate.clone();
        tokio::task::spawn_blocking(move || started.wait())
            .await
            .unwrap();
        let waiter = {
            let checker = checker.clone();
            tokio::spawn(async move { checker.verify("x".into(), None).await })
        };
        // Wait (without sleeping) until the waiter is in line.
        while checker.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        for _ in 0..5 {
            assert!(matches!(
                checker.verify("x".into(), None).await,
                Err(PasswordCheckError::Busy)
            ));
        }
        let release = gate.clone();
        tokio::task::spawn_blocking(move || release.wait())
            .await
            .unwrap();
        holder.await.unwrap().unwrap();
        assert!(!waiter.await.unwrap().unwrap());
        assert_eq!(checker.waiting.load(Ordering::Acquire), 0);
        assert_eq!(checker.permits.available_permits(), 1);
    }
}
