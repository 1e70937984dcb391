//! Writing into Drive (Drive v3 "Create and manage files", "Upload file data"): folders by
//! `files.create`; small files in one multipart request; larger ones through a resumable
//! session, sent in chunks that are multiples of 256 KiB and resumed from what Drive says it
//! has (`308 Resume Incomplete` with `Range`) after a cut connection or a 5xx.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{error_from_response, DriveClient, DriveError, DriveFile, FILE_FIELDS, FOLDER_MIME};

/// Up to this size a file goes in one multipart request (Drive: "5 MB or less").
const MULTIPART_UP_TO: u64 = 5 * 1024 * 1024;
/// Resumable chunks: a multiple of 256 KiB, as Drive requires.
const CHUNK: usize = 8 * 1024 * 1024;
/// How many times one upload resumes after a cut before it gives up.
const RESUMES: u32 = 5;

/// What Drive answered to one chunk.
enum ChunkAnswer {
    Done(Box<DriveFile>),
    /// Drive has the bytes up to this offset.
    Has(u64),
}

fn local_error(path: &Path, source: std::io::Error) -> DriveError {
    DriveError::Staging { path: path.display().to_string(), source }
}

impl DriveClient {
    /// `https://www.googleapis.com/upload/drive/v3` for `https://www.googleapis.com/drive/v3`.
    fn upload_base(&self) -> String {
        match self.base.strip_suffix("/drive/v3") {
            Some(host) => format!("{host}/upload/drive/v3"),
            None => format!("{}/upload", self.base),
        }
    }

    /// Makes a folder `name` inside `parent`.
    pub async fn create_folder(&self, parent: &str, name: &str) -> Result<DriveFile, DriveError> {
        let url = format!("{}/files", self.base);
        let metadata = json!({ "name": name, "mimeType": FOLDER_MIME, "parents": [parent] });
        let query = [("fields", FILE_FIELDS), ("supportsAllDrives", "true")];
        let response =
            self.send("/files", |token| self.http.post(&url).query(&query).bearer_auth(token).json(&metadata)).await?;
        response.json().await.map_err(|e| DriveError::BadResponse(e.to_string()))
    }

    /// Files (not folders) directly inside `parent` named exactly `name`.
    pub async fn find_child_files(&self, parent: &str, name: &str) -> Result<Vec<DriveFile>, DriveError> {
        let q = format!(
            "'{}' in parents and name = '{}' and mimeType != '{FOLDER_MIME}' and trashed = false",
            super::escape_q(parent),
            super::escape_q(name)
        );
        Ok(self.query_files(&q, &super::Corpus::User).await?.into_iter().filter(|f| f.name == name).collect())
    }

    /// Uploads the file at `path` as a new file `name` inside `parent`; with `convert_to` (a
    /// Google Workspace type), Drive imports it as that type from the format its extension
    /// names.
    pub async fn upload_file(
        &self,
        parent: &str,
        name: &str,
        path: &Path,
        convert_to: Option<&str>,
    ) -> Result<DriveFile, DriveError> {
        let size = tokio::fs::metadata(path).await.map_err(|e| local_error(path, e))?.len();
        let mut metadata = json!({ "name": name, "parents": [parent] });
        let mut media_type = "application/octet-stream";
        if let Some(google_type) = convert_to {
            metadata["mimeType"] = json!(google_type);
            let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
            media_type = super::export_mime(&extension).unwrap_or(media_type);
        }
        if size <= MULTIPART_UP_TO {
            self.upload_multipart(&metadata, media_type, path).await
        } else {
            self.upload_resumable(&metadata, media_type, path, size).await
        }
    }

    async fn upload_multipart(
        &self,
        metadata: &serde_json::Value,
        media_type: &str,
        path: &Path,
    ) -> Result<DriveFile, DriveError> {
        let bytes = tokio::fs::read(path).await.map_err(|e| local_error(path, e))?;
        let boundary = format!("fanout-{:016x}", rand::random::<u64>());
        let mut body = format!(
            "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{metadata}\r\n\
             --{boundary}\r\nContent-Type: {media_type}\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(&bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let body = Bytes::from(body);
        let url = format!("{}/files", self.upload_base());
        let query = [("uploadType", "multipart"), ("fields", FILE_FIELDS), ("supportsAllDrives", "true")];
        let content_type = format!("multipart/related; boundary={boundary}");
        let response = self
            .send("/files", |token| {
                self.http
                    .post(&url)
                    .query(&query)
                    .bearer_auth(token)
                    .header(reqwest::header::CONTENT_TYPE, &content_type)
                    .body(body.clone())
            })
            .await?;
        response.json().await.map_err(|e| DriveError::BadResponse(e.to_string()))
    }

    async fn upload_resumable(
        &self,
        metadata: &serde_json::Value,
        media_type: &str,
        path: &Path,
        size: u64,
    ) -> Result<DriveFile, DriveError> {
        let url = format!("{}/files", self.upload_base());
        let query = [("uploadType", "resumable"), ("fields", FILE_FIELDS), ("supportsAllDrives", "true")];
        let started = self
            .send("/files", |token| {
                self.http
                    .post(&url)
                    .query(&query)
                    .bearer_auth(token)
                    .header("X-Upload-Content-Length", size.to_string())
                    .header("X-Upload-Content-Type", media_type)
                    .json(metadata)
            })
            .await?;
        let session = started
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| DriveError::BadResponse("a resumable upload session without a Location".into()))?;
        let mut file = tokio::fs::File::open(path).await.map_err(|e| local_error(path, e))?;
        let mut offset = 0u64;
        let mut resumes = 0;
        let mut buf = vec![0u8; CHUNK];
        loop {
            file.seek(std::io::SeekFrom::Start(offset)).await.map_err(|e| local_error(path, e))?;
            let mut filled = 0;
            while filled < buf.len() {
                let n = file.read(&mut buf[filled..]).await.map_err(|e| local_error(path, e))?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            let chunk = Bytes::copy_from_slice(&buf[..filled]);
            let answer = match self.put_chunk(&session, chunk, offset, size).await {
                Ok(answer) => answer,
                Err(e) if e.is_transient() && resumes < RESUMES => {
                    resumes += 1;
                    tracing::warn!(error = %e, offset, "upload cut short; asking Drive what it has");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(resumes))).await;
                    self.upload_status(&session, size).await?
                }
                Err(e) => return Err(e),
            };
            match answer {
                ChunkAnswer::Done(file) => return Ok(*file),
                ChunkAnswer::Has(next) => offset = next,
            }
        }
    }

    /// Sends `chunk` (the bytes from `offset`) to a resumable session.
    async fn put_chunk(&self, session: &str, chunk: Bytes, offset: u64, total: u64) -> Result<ChunkAnswer, DriveError> {
        let range = match chunk.len() {
            0 => format!("bytes */{total}"),
            n => format!("bytes {offset}-{}/{total}", offset + n as u64 - 1),
        };
        let token = self.tokens.access_token().await?;
        let request =
            self.http.put(session).bearer_auth(token).header(reqwest::header::CONTENT_RANGE, range).body(chunk);
        let response = request.send().await.map_err(|e| DriveError::Network(e.to_string()))?;
        chunk_answer(response).await
    }

    /// Asks a resumable session how much it has (an empty PUT with `bytes */total`).
    async fn upload_status(&self, session: &str, total: u64) -> Result<ChunkAnswer, DriveError> {
        self.put_chunk(session, Bytes::new(), 0, total).await
    }
}

async fn chunk_answer(response: reqwest::Response) -> Result<ChunkAnswer, DriveError> {
    let status = response.status().as_u16();
    match status {
        200 | 201 => {
            let file: DriveFile = response.json().await.map_err(|e| DriveError::BadResponse(e.to_string()))?;
            Ok(ChunkAnswer::Done(Box::new(file)))
        }
        // `Range: bytes=0-N`: Drive has bytes 0..=N; no Range: it has nothing yet.
        308 => {
            let has = response
                .headers()
                .get(reqwest::header::RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes=0-"))
                .and_then(|end| end.trim().parse::<u64>().ok())
                .map_or(0, |end| end + 1);
            Ok(ChunkAnswer::Has(has))
        }
        _ => Err(error_from_response(response, "/upload").await),
    }
}
