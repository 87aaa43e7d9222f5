//! Photos as evidence: stored content-addressed (SHA-256 of the stripped bytes) after
//! [`super::strip`], shown to staff only; the one photo the public sees is the after-photo of
//! a fix the street office verified, for categories that are not indoor.

use civmap_domain::{Event, EventKind, ProblemId, Status};
use civmap_store::PhotoMeta;

use super::strip::{PhotoError, strip};
use super::thumbs::{thumb_path, write_thumbnail};
use crate::actor::Actor;
use crate::app::App;
use crate::error::ServiceError;

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The bytes are not an acceptable image.
    #[error("photo: {0}")]
    Photo(#[from] PhotoError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// A photo's bytes and media type.
#[derive(Debug, Clone)]
pub struct PhotoBytes {
    /// The photo's id (SHA-256 of the stored bytes), also for its thumbnail.
    pub id: String,
    pub bytes: Vec<u8>,
    pub mime: String,
}

impl App {
    /// Checks, strips and stores an uploaded photo (and makes its thumbnail). Anonymous
    /// uploads take a token from the anonymous write limit.
    pub async fn store_photo(
        &self,
        actor: &Actor,
        bytes: Vec<u8>,
    ) -> Result<PhotoMeta, UploadError> {
        if bytes.is_empty() {
            return Err(ServiceError::invalid("photo", "the body is empty").into());
        }
        let clean = tokio::task::spawn_blocking(move || strip(&bytes))
            .await
            .map_err(|e| ServiceError::internal("photo check", e))??;
        let max = self.config().limits.photo_pixels;
        let pixels = u64::from(clean.width) * u64::from(clean.height);
        if pixels > max {
            return Err(ServiceError::invalid(
                "photo",
                format!(
                    "{} × {} pixels is more than the {max} accepted; send a smaller photo",
                    clean.width, clean.height
                ),
            )
            .into());
        }
        self.check_rate(actor)?;
        let meta = self
            .store()
            .put_photo(&clean.bytes, clean.format.mime(), clean.width, clean.height)
            .await
            .map_err(ServiceError::from)?;
        tracing::info!(photo = %meta.id, user = ?actor.user, bytes = meta.bytes, "photo stored");
        if let Ok(path) = self.store().photo_path(&meta.id) {
            let share = self
                .inner
                .decode_budget
                .reserve(clean.width, clean.height)
                .await;
            let bytes = clean.bytes;
            let made = tokio::task::spawn_blocking(move || {
                let made = write_thumbnail(&path, &bytes).is_some();
                drop(share);
                made
            })
            .await
            .unwrap_or(false);
            if !made {
                tracing::info!(photo = %meta.id, "no thumbnail: the photo does not decode");
            }
        }
        Ok(meta)
    }

    /// A stored photo, or its thumbnail (made now when it is missing; the original when none
    /// can be made). `Malformed` naming `id` for a string that is not a photo id.
    pub async fn photo(&self, id: &str, thumb: bool) -> Result<PhotoBytes, ServiceError> {
        let path = self
            .store()
            .photo_path(id)
            .map_err(|e| ServiceError::malformed("id", e))?;
        let meta = self
            .store()
            .photo_meta(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no photo {id}")))?;
        if thumb {
            if let Ok(bytes) = tokio::fs::read(thumb_path(&path)).await {
                return Ok(PhotoBytes {
                    id: id.to_owned(),
                    bytes,
                    mime: "image/jpeg".into(),
                });
            }
            // Uploaded before thumbnails existed, or not decodable: try now.
            let original = read_photo(&path).await?;
            let share = self
                .inner
                .decode_budget
                .reserve(meta.width, meta.height)
                .await;
            let p = path.clone();
            let made = tokio::task::spawn_blocking(move || {
                let made = write_thumbnail(&p, &original);
                drop(share);
                made
            })
            .await
            .map_err(|e| ServiceError::internal("thumbnail", e))?;
            if let Some(bytes) = made {
                return Ok(PhotoBytes {
                    id: id.to_owned(),
                    bytes,
                    mime: "image/jpeg".into(),
                });
            }
        }
        Ok(PhotoBytes {
            id: id.to_owned(),
            bytes: read_photo(&path).await?,
            mime: meta.mime,
        })
    }

    /// The public after-photo of a problem: the first photo of the rectification that the last
    /// verification accepted, for a closed problem of a category that is not indoor.
    /// Verification is the review: staff looked at the fix and its evidence before the photo
    /// goes public. Reporters' photos and photos of indoor problems never do.
    pub async fn public_photo_of(&self, id: ProblemId, events: &[Event]) -> Option<String> {
        let p = self.fetch_problem(id).await.ok()?;
        self.public_photo_for(&p, events)
    }

    /// [`App::public_photo_of`] for a problem at hand.
    #[must_use]
    pub fn public_photo_for(&self, p: &civmap_domain::Problem, events: &[Event]) -> Option<String> {
        if p.status != Status::Closed {
            return None;
        }
        if self
            .categories()
            .by_code(&p.category)
            .is_none_or(|c| c.indoor)
        {
            return None;
        }
        let verified = events.iter().rposition(|e| e.kind == EventKind::Verified)?;
        events[..verified]
            .iter()
            .rev()
            .find(|e| e.kind == EventKind::Rectified)
            .and_then(|e| e.photos.first().cloned())
    }

    /// The public after-photo of a problem `actor` may see (`NotFound` when there is none).
    pub async fn public_photo(
        &self,
        actor: &Actor,
        id: ProblemId,
        thumb: bool,
    ) -> Result<PhotoBytes, ServiceError> {
        let events = self.history_for(actor, id).await?;
        let photo = self
            .public_photo_of(id, &events)
            .await
            .ok_or_else(|| ServiceError::NotFound(format!("problem {id} has no public photo")))?;
        self.photo(&photo, thumb).await
    }
}

async fn read_photo(path: &std::path::Path) -> Result<Vec<u8>, ServiceError> {
    tokio::fs::read(path).await.map_err(|e| {
        ServiceError::internal(format!("photo file {} cannot be read", path.display()), e)
    })
}
