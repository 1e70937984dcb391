//! The fake spoken to over HTTP the way rclone's b2 backend speaks to B2: authorize with v4,
//! then call `{apiUrl}/b2api/v1/...`.

use std::path::Path;

use reqwest::Client;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

use super::{FakeB2, Fault, FaultAction, ABSOLUTE_MINIMUM_PART_SIZE, RECOMMENDED_PART_SIZE};

const KEY_ID: &str = "0012ab34cd56ef70000000001";
const APP_KEY: &str = "K001fakeapplicationkey";
const BUCKET: &str = "fanout-test";

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

struct Session {
    client: Client,
    api_url: String,
    token: String,
    account_id: String,
    bucket_id: String,
}

async fn start(dir: &Path) -> FakeB2 {
    FakeB2::start(dir, KEY_ID, APP_KEY, &[BUCKET], 0).await.expect("fake B2 starts")
}

async fn authorize(client: &Client, base: &str) -> (u16, Value) {
    let response = client
        .get(format!("{base}/b2api/v4/b2_authorize_account"))
        .basic_auth(KEY_ID, Some(APP_KEY))
        .send()
        .await
        .expect("authorize");
    (response.status().as_u16(), response.json().await.expect("authorize JSON"))
}

async fn session(server: &FakeB2) -> Session {
    let client = Client::new();
    let (status, body) = authorize(&client, &server.base_url()).await;
    assert_eq!(status, 200, "{body}");
    let storage = &body["apiInfo"]["storageApi"];
    Session {
        api_url: storage["apiUrl"].as_str().expect("apiUrl").to_string(),
        token: body["authorizationToken"].as_str().expect("token").to_string(),
        account_id: body["accountId"].as_str().expect("accountId").to_string(),
        bucket_id: storage["allowed"]["buckets"][0]["id"].as_str().expect("bucket id").to_string(),
        client,
    }
}

impl Session {
    async fn call(&self, op: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/b2api/v1/{op}", self.api_url))
            .header("Authorization", &self.token)
            .json(&body)
            .send()
            .await
            .expect("API call");
        (response.status().as_u16(), response.json().await.expect("API JSON"))
    }

    async fn upload(&self, name: &str, bytes: &[u8], sha1_header: &str) -> (u16, Value) {
        let (status, url) = self.call("b2_get_upload_url", json!({ "bucketId": self.bucket_id })).await;
        assert_eq!(status, 200, "{url}");
        let response = self
            .client
            .post(url["uploadUrl"].as_str().expect("uploadUrl"))
            .header("Authorization", url["authorizationToken"].as_str().expect("upload token"))
            .header("X-Bz-File-Name", name)
            .header("Content-Type", "text/plain")
            .header("X-Bz-Content-Sha1", sha1_header)
            .header("X-Bz-Info-src_last_modified_millis", "1700000000000")
            .body(bytes.to_vec())
            .send()
            .await
            .expect("upload");
        (response.status().as_u16(), response.json().await.expect("upload JSON"))
    }

    async fn upload_ok(&self, name: &str, bytes: &[u8]) -> Value {
        let (status, body) = self.upload(name, bytes, &sha1_hex(bytes)).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

#[tokio::test]
async fn authorize_answers_each_version_with_its_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let client = Client::new();
    let base = server.base_url();

    let (status, v4) = authorize(&client, &base).await;
    assert_eq!(status, 200);
    let storage = &v4["apiInfo"]["storageApi"];
    assert_eq!(storage["apiUrl"], json!(base));
    assert_eq!(storage["downloadUrl"], json!(base));
    assert_eq!(storage["absoluteMinimumPartSize"], json!(ABSOLUTE_MINIMUM_PART_SIZE));
    assert_eq!(storage["allowed"]["buckets"][0]["name"], json!(BUCKET));
    assert_eq!(v4["accountId"], json!(server.account_id()));

    let v2: Value = client
        .get(format!("{base}/b2api/v2/b2_authorize_account"))
        .basic_auth(KEY_ID, Some(APP_KEY))
        .send()
        .await
        .expect("v2")
        .json()
        .await
        .expect("v2 JSON");
    assert_eq!(v2["apiUrl"], json!(base));
    assert_eq!(v2["allowed"]["bucketName"], json!(BUCKET));
    assert_eq!(v2["recommendedPartSize"], json!(RECOMMENDED_PART_SIZE));

    let wrong = client
        .get(format!("{base}/b2api/v4/b2_authorize_account"))
        .basic_auth(KEY_ID, Some("wrong"))
        .send()
        .await
        .expect("wrong key");
    assert_eq!(wrong.status().as_u16(), 401);
    let error: Value = wrong.json().await.expect("error JSON");
    assert_eq!(error["code"], json!("unauthorized"));
    assert_eq!(error["status"], json!(401));
}

#[tokio::test]
async fn uploads_are_checked_against_their_sha1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let s = session(&server).await;

    let body = s.upload_ok("docs/hello%20world.txt", b"hello world").await;
    assert_eq!(body["fileName"], json!("docs/hello world.txt"));
    assert_eq!(body["contentSha1"], json!(sha1_hex(b"hello world")));
    assert_eq!(body["contentLength"], json!(11));
    assert_eq!(body["size"], json!(11), "v1 responses still carry size");
    assert_eq!(body["fileInfo"]["src_last_modified_millis"], json!("1700000000000"));
    assert_eq!(server.object(BUCKET, "docs/hello world.txt"), Some(b"hello world".to_vec()));

    let (status, error) = s.upload("bad.txt", b"some bytes", &sha1_hex(b"other bytes")).await;
    assert_eq!(status, 400);
    assert_eq!(error["code"], json!("bad_request"));
    assert_eq!(error["message"], json!("Sha1 did not match data received"));
    assert_eq!(server.object(BUCKET, "bad.txt"), None);

    // hex_digits_at_end: the body carries its own SHA1 in its last 40 bytes.
    let mut trailing = b"streamed".to_vec();
    trailing.extend_from_slice(sha1_hex(b"streamed").as_bytes());
    let (status, body) = s.upload("streamed.txt", &trailing, "hex_digits_at_end").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["contentLength"], json!(8));
    assert_eq!(server.object(BUCKET, "streamed.txt"), Some(b"streamed".to_vec()));

    let mut wrong_trailer = b"streamed".to_vec();
    wrong_trailer.extend_from_slice(sha1_hex(b"damaged!").as_bytes());
    let (status, _) = s.upload("damaged.txt", &wrong_trailer, "hex_digits_at_end").await;
    assert_eq!(status, 400);

    server.inject(Fault { route: Some("b2_upload_file".into()), times: Some(1), action: FaultAction::Sha1Mismatch });
    let (status, error) = s.upload("faulted.txt", b"fine", &sha1_hex(b"fine")).await;
    assert_eq!((status, error["message"].clone()), (400, json!("Sha1 did not match data received")));
    s.upload_ok("faulted.txt", b"fine").await;
    assert_eq!(server.object(BUCKET, "faulted.txt"), Some(b"fine".to_vec()));
}

#[tokio::test]
async fn listings_page_and_fold_folders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let s = session(&server).await;
    for name in ["a/1.txt", "a/2.txt", "b.txt", "c/d/e.txt"] {
        s.upload_ok(name, name.as_bytes()).await;
    }

    let (status, page) =
        s.call("b2_list_file_names", json!({ "bucketId": s.bucket_id, "delimiter": "/", "maxFileCount": 1000 })).await;
    assert_eq!(status, 200, "{page}");
    let entries: Vec<(String, String)> = page["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| (f["fileName"].as_str().unwrap_or("").to_string(), f["action"].as_str().unwrap_or("").to_string()))
        .collect();
    let expected = [("a/", "folder"), ("b.txt", "upload"), ("c/", "folder")];
    assert_eq!(entries, expected.map(|(n, a)| (n.to_string(), a.to_string())).to_vec());
    assert_eq!(page["files"][0]["uploadTimestamp"], json!(0));
    assert_eq!(page["nextFileName"], Value::Null);

    let (_, first) = s.call("b2_list_file_names", json!({ "bucketId": s.bucket_id, "maxFileCount": 2 })).await;
    assert_eq!(first["files"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["nextFileName"], json!("b.txt"));
    let (_, second) = s
        .call("b2_list_file_names", json!({ "bucketId": s.bucket_id, "maxFileCount": 2, "startFileName": "b.txt" }))
        .await;
    assert_eq!(second["files"][0]["fileName"], json!("b.txt"));
    assert_eq!(second["files"][1]["fileName"], json!("c/d/e.txt"));

    let (_, prefixed) =
        s.call("b2_list_file_names", json!({ "bucketId": s.bucket_id, "prefix": "a/", "delimiter": "/" })).await;
    assert_eq!(prefixed["files"].as_array().map(Vec::len), Some(2));

    // Hiding keeps the bytes as an old version, but the name leaves b2_list_file_names.
    let (status, hidden) = s.call("b2_hide_file", json!({ "bucketId": s.bucket_id, "fileName": "b.txt" })).await;
    assert_eq!((status, hidden["action"].clone()), (200, json!("hide")));
    assert_eq!(server.object_names(BUCKET), vec!["a/1.txt", "a/2.txt", "c/d/e.txt"]);
    let (_, versions) =
        s.call("b2_list_file_versions", json!({ "bucketId": s.bucket_id, "prefix": "b.txt", "maxFileCount": 1 })).await;
    assert_eq!(versions["files"][0]["action"], json!("hide"));
    assert_eq!(versions["nextFileName"], json!("b.txt"));
    assert!(versions["nextFileId"].is_string());
    let (status, again) = s.call("b2_hide_file", json!({ "bucketId": s.bucket_id, "fileName": "b.txt" })).await;
    assert_eq!((status, again["code"].clone()), (400, json!("already_hidden")));
}

#[tokio::test]
async fn downloads_honour_range_and_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let s = session(&server).await;
    let uploaded = s.upload_ok("dir/data.bin", b"0123456789").await;
    let url = format!("{}/file/{BUCKET}/dir/data.bin", server.base_url());

    let whole = s.client.get(&url).header("Authorization", &s.token).send().await.expect("download");
    assert_eq!(whole.status().as_u16(), 200);
    let headers = whole.headers().clone();
    assert_eq!(headers["x-bz-content-sha1"], sha1_hex(b"0123456789").as_str());
    assert_eq!(headers["x-bz-file-id"], uploaded["fileId"].as_str().unwrap_or(""));
    assert_eq!(headers["x-bz-info-src_last_modified_millis"], "1700000000000");
    assert_eq!(whole.bytes().await.expect("body").as_ref(), b"0123456789");

    let part = s.client.get(&url).header("Authorization", &s.token).header("Range", "bytes=2-5").send().await;
    let part = part.expect("range");
    assert_eq!(part.status().as_u16(), 206);
    assert_eq!(part.headers()["content-range"], "bytes 2-5/10");
    assert_eq!(part.bytes().await.expect("body").as_ref(), b"2345");

    let file_id = uploaded["fileId"].as_str().unwrap_or("");
    let by_id = format!("{}/b2api/v1/b2_download_file_by_id?fileId={file_id}", server.base_url());
    let tail = s.client.get(&by_id).header("Authorization", &s.token).header("Range", "bytes=-3").send().await;
    assert_eq!(tail.expect("by id").bytes().await.expect("body").as_ref(), b"789");

    let head = s.client.head(&url).header("Authorization", &s.token).send().await.expect("head");
    assert_eq!(head.headers()["content-length"], "10");

    let beyond = s.client.get(&url).header("Authorization", &s.token).header("Range", "bytes=10-").send().await;
    assert_eq!(beyond.expect("416").status().as_u16(), 416);

    let anonymous = s.client.get(&url).send().await.expect("no token");
    assert_eq!(anonymous.status().as_u16(), 401);
    let missing = s.client.get(format!("{url}.nope")).header("Authorization", &s.token).send().await;
    assert_eq!(missing.expect("404").status().as_u16(), 404);

    let ranged: Vec<_> = server.requests().into_iter().filter(|r| r.route == "download" && r.range.is_some()).collect();
    assert_eq!(ranged.len(), 3);
    assert_eq!(ranged[0].file_name.as_deref(), Some("dir/data.bin"));
}

#[tokio::test]
async fn expired_tokens_answer_401_until_reauthorized() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let s = session(&server).await;
    let list = json!({ "accountId": s.account_id });
    assert_eq!(s.call("b2_list_buckets", list.clone()).await.0, 200);

    server.expire_tokens();
    let (status, error) = s.call("b2_list_buckets", list.clone()).await;
    assert_eq!((status, error["code"].clone()), (401, json!("expired_auth_token")));

    let fresh = session(&server).await;
    let (status, buckets) = fresh.call("b2_list_buckets", list.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(buckets["buckets"][0]["bucketName"], json!(BUCKET));

    server.inject(Fault { route: Some("b2_list_buckets".into()), times: Some(1), action: FaultAction::ExpiredToken });
    assert_eq!(fresh.call("b2_list_buckets", list.clone()).await.0, 401);
    assert_eq!(fresh.call("b2_list_buckets", list.clone()).await.0, 200);

    server.inject(Fault { route: None, times: Some(1), action: FaultAction::ServiceUnavailable });
    let response = fresh
        .client
        .post(format!("{}/b2api/v1/b2_list_buckets", fresh.api_url))
        .header("Authorization", &fresh.token)
        .json(&list)
        .send()
        .await
        .expect("503");
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let statuses: Vec<u16> =
        server.requests().iter().filter(|r| r.route == "b2_list_buckets").map(|r| r.status).collect();
    assert_eq!(statuses, vec![200, 401, 200, 401, 200, 503]);
}

#[tokio::test]
async fn large_files_assemble_from_parts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let s = session(&server).await;
    let first = vec![7u8; ABSOLUTE_MINIMUM_PART_SIZE as usize];
    let second = b"the end".to_vec();
    let whole_sha1 = sha1_hex(&[first.as_slice(), second.as_slice()].concat());

    let (status, started) = s
        .call(
            "b2_start_large_file",
            json!({
                "bucketId": s.bucket_id,
                "fileName": "big.bin",
                "contentType": "application/octet-stream",
                "fileInfo": { "src_last_modified_millis": "1700000000000", "large_file_sha1": whole_sha1 },
            }),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    let file_id = started["fileId"].as_str().expect("fileId").to_string();
    let (_, url) = s.call("b2_get_upload_part_url", json!({ "fileId": file_id })).await;
    let mut sha1s = Vec::new();
    for (number, part) in [(1, &first), (2, &second)] {
        // rclone sends parts as hex_digits_at_end.
        let mut body = part.clone();
        body.extend_from_slice(sha1_hex(part).as_bytes());
        let response = s
            .client
            .post(url["uploadUrl"].as_str().expect("uploadUrl"))
            .header("Authorization", url["authorizationToken"].as_str().expect("token"))
            .header("X-Bz-Part-Number", number.to_string())
            .header("X-Bz-Content-Sha1", "hex_digits_at_end")
            .body(body)
            .send()
            .await
            .expect("part");
        assert_eq!(response.status().as_u16(), 200);
        sha1s.push(sha1_hex(part));
    }

    let (status, error) =
        s.call("b2_finish_large_file", json!({ "fileId": file_id, "partSha1Array": [sha1s[1], sha1s[0]] })).await;
    assert_eq!((status, error["code"].clone()), (400, json!("bad_request")));
    let (status, finished) = s.call("b2_finish_large_file", json!({ "fileId": file_id, "partSha1Array": sha1s })).await;
    assert_eq!(status, 200, "{finished}");
    assert_eq!(finished["contentSha1"], json!("none"));
    assert_eq!(finished["fileInfo"]["large_file_sha1"], json!(whole_sha1));
    assert_eq!(finished["contentLength"], json!(first.len() + second.len()));
    assert_eq!(server.large_files_finished(), 1);
    assert_eq!(server.large_files_unfinished(), 0);
    let stored = server.object(BUCKET, "big.bin").expect("stored");
    assert_eq!(sha1_hex(&stored), whole_sha1);
}

#[tokio::test]
async fn test_helpers_corrupt_and_delete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let s = session(&server).await;
    s.upload_ok("x.txt", b"abcdef").await;
    assert!(server.corrupt_object(BUCKET, "x.txt"));
    let stored = server.object(BUCKET, "x.txt").expect("stored");
    assert_ne!(stored, b"abcdef".to_vec());
    assert_eq!(server.object_meta(BUCKET, "x.txt").map(|m| m.sha1), Some(sha1_hex(b"abcdef")));
    assert!(server.delete_object(BUCKET, "x.txt"));
    assert_eq!(server.object(BUCKET, "x.txt"), None);
    assert!(server.object_names(BUCKET).is_empty());
}

#[tokio::test]
async fn hide_markers_error_codes_and_version_paging_follow_b2s_documentation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let s = session(&server).await;
    for i in 0..3 {
        s.upload_ok("same.txt", format!("version {i}").as_bytes()).await;
    }
    s.upload_ok("z.txt", b"z").await;
    let (_, hidden) = s.call("b2_hide_file", json!({ "bucketId": s.bucket_id, "fileName": "same.txt" })).await;
    assert_eq!(hidden["contentSha1"], Value::Null, "a hide marker's contentSha1 is null");

    // Paging one version at a time continues after (name, id): every version once, in order.
    let mut seen: Vec<(String, String, String)> = Vec::new();
    let mut start: Option<(Value, Value)> = None;
    loop {
        let mut params = json!({ "bucketId": s.bucket_id, "maxFileCount": 1 });
        if let Some((name, id)) = &start {
            params["startFileName"] = name.clone();
            params["startFileId"] = id.clone();
        }
        let (status, page) = s.call("b2_list_file_versions", params).await;
        assert_eq!(status, 200, "{page}");
        for f in page["files"].as_array().expect("files") {
            let field = |k: &str| f[k].as_str().unwrap_or("null").to_string();
            seen.push((field("fileName"), field("action"), field("fileId")));
        }
        match (&page["nextFileName"], &page["nextFileId"]) {
            (Value::String(_), Value::String(_)) => {
                start = Some((page["nextFileName"].clone(), page["nextFileId"].clone()))
            }
            _ => break,
        }
        assert!(seen.len() <= 5, "paging restarted: {seen:?}");
    }
    let actions: Vec<(&str, &str)> = seen.iter().map(|(n, a, _)| (n.as_str(), a.as_str())).collect();
    assert_eq!(
        actions,
        [
            ("same.txt", "hide"),
            ("same.txt", "upload"),
            ("same.txt", "upload"),
            ("same.txt", "upload"),
            ("z.txt", "upload")
        ]
    );
    let ids: std::collections::HashSet<&str> = seen.iter().map(|(_, _, id)| id.as_str()).collect();
    assert_eq!(ids.len(), 5, "each version once");

    let (status, e) = s.call("b2_list_file_names", json!({ "bucketId": s.bucket_id, "maxFileCount": 100_000 })).await;
    assert_eq!((status, e["code"].as_str()), (400, Some("out_of_range")));
    let (status, e) = s.call("b2_list_file_names", json!({ "bucketId": "4a48fe8875c6214145260818" })).await;
    assert_eq!((status, e["code"].as_str()), (400, Some("invalid_bucket_id")));
    let (status, e) =
        s.call("b2_delete_file_version", json!({ "fileName": "same.txt", "fileId": "4_zNoSuchVersion" })).await;
    assert_eq!((status, e["code"].as_str()), (400, Some("file_not_present")));
}

#[tokio::test]
async fn an_upload_url_that_answered_503_is_never_accepted_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let s = session(&server).await;
    let (_, url) = s.call("b2_get_upload_url", json!({ "bucketId": s.bucket_id })).await;
    server.inject(Fault {
        route: Some("b2_upload_file".into()),
        times: Some(1),
        action: FaultAction::ServiceUnavailable,
    });
    let send = || async {
        s.client
            .post(url["uploadUrl"].as_str().expect("uploadUrl"))
            .header("Authorization", url["authorizationToken"].as_str().expect("token"))
            .header("X-Bz-File-Name", "a.txt")
            .header("Content-Type", "text/plain")
            .header("X-Bz-Content-Sha1", sha1_hex(b"a"))
            .body(b"a".to_vec())
            .send()
            .await
            .expect("upload")
            .status()
            .as_u16()
    };
    assert_eq!(send().await, 503);
    assert_eq!(send().await, 401, "B2 says: get a new upload URL after a 503");
    s.upload_ok("a.txt", b"a").await;
}
