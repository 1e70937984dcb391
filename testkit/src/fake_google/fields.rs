//! Partial responses: Drive returns only the fields a request names
//! (`nextPageToken,files(id,name,capabilities/canDownload)`, or `*` for everything).

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mask {
    /// Field → mask for its value (`None` means the whole value).
    fields: BTreeMap<String, Option<Mask>>,
    all: bool,
}

pub fn parse(spec: &str) -> Result<Mask, String> {
    let chars: Vec<char> = spec.chars().filter(|c| !c.is_whitespace()).collect();
    let mut pos = 0;
    let mask = parse_list(&chars, &mut pos)?;
    if pos != chars.len() {
        return Err(format!("unexpected `{}` in fields", chars[pos]));
    }
    Ok(mask)
}

fn parse_list(chars: &[char], pos: &mut usize) -> Result<Mask, String> {
    let mut mask = Mask::default();
    loop {
        let start = *pos;
        while *pos < chars.len() && !matches!(chars[*pos], ',' | '(' | ')' | '/') {
            *pos += 1;
        }
        let name: String = chars[start..*pos].iter().collect();
        if name.is_empty() {
            return Err("empty field name".into());
        }
        let sub = match chars.get(*pos) {
            Some('(') => {
                *pos += 1;
                let inner = parse_list(chars, pos)?;
                if chars.get(*pos) != Some(&')') {
                    return Err("missing `)` in fields".into());
                }
                *pos += 1;
                Some(inner)
            }
            Some('/') => {
                *pos += 1;
                let start = *pos;
                while *pos < chars.len() && !matches!(chars[*pos], ',' | ')') {
                    *pos += 1;
                }
                let rest: String = chars[start..*pos].iter().collect();
                Some(parse(&rest)?)
            }
            _ => None,
        };
        if name == "*" {
            mask.all = true;
        } else {
            mask.fields.insert(name, sub);
        }
        match chars.get(*pos) {
            Some(',') => *pos += 1,
            _ => return Ok(mask),
        }
    }
}

/// What a resource's fields are, as Drive v3's reference lists them: a field name is either a
/// plain value, an object with its own fields, or an object whose inner fields are not checked
/// (`capabilities`, `user`, ...). Real Drive answers 400 "Invalid field selection" for a name
/// it does not know, so the fake does too: a typo in a client's `fields` must fail in tests.
#[derive(Debug, Clone, Copy)]
pub enum Schema {
    Value,
    Object(&'static [(&'static str, Schema)]),
    Open,
}

/// The `File` resource (https://developers.google.com/drive/api/reference/rest/v3/files).
pub const FILE: Schema = Schema::Object(&[
    ("kind", Schema::Value),
    ("id", Schema::Value),
    ("name", Schema::Value),
    ("mimeType", Schema::Value),
    ("description", Schema::Value),
    ("starred", Schema::Value),
    ("trashed", Schema::Value),
    ("explicitlyTrashed", Schema::Value),
    ("trashingUser", Schema::Open),
    ("trashedTime", Schema::Value),
    ("parents", Schema::Value),
    ("properties", Schema::Open),
    ("appProperties", Schema::Open),
    ("spaces", Schema::Value),
    ("version", Schema::Value),
    ("webContentLink", Schema::Value),
    ("webViewLink", Schema::Value),
    ("iconLink", Schema::Value),
    ("hasThumbnail", Schema::Value),
    ("thumbnailLink", Schema::Value),
    ("thumbnailVersion", Schema::Value),
    ("viewedByMe", Schema::Value),
    ("viewedByMeTime", Schema::Value),
    ("createdTime", Schema::Value),
    ("modifiedTime", Schema::Value),
    ("modifiedByMeTime", Schema::Value),
    ("modifiedByMe", Schema::Value),
    ("sharedWithMeTime", Schema::Value),
    ("sharingUser", Schema::Open),
    ("owners", Schema::Open),
    ("driveId", Schema::Value),
    ("teamDriveId", Schema::Value),
    ("lastModifyingUser", Schema::Open),
    ("shared", Schema::Value),
    ("ownedByMe", Schema::Value),
    ("capabilities", Schema::Open),
    ("viewersCanCopyContent", Schema::Value),
    ("copyRequiresWriterPermission", Schema::Value),
    ("writersCanShare", Schema::Value),
    ("permissions", Schema::Open),
    ("permissionIds", Schema::Value),
    ("hasAugmentedPermissions", Schema::Value),
    ("folderColorRgb", Schema::Value),
    ("originalFilename", Schema::Value),
    ("fullFileExtension", Schema::Value),
    ("fileExtension", Schema::Value),
    ("md5Checksum", Schema::Value),
    ("sha1Checksum", Schema::Value),
    ("sha256Checksum", Schema::Value),
    ("size", Schema::Value),
    ("quotaBytesUsed", Schema::Value),
    ("headRevisionId", Schema::Value),
    ("contentHints", Schema::Open),
    ("imageMediaMetadata", Schema::Open),
    ("videoMediaMetadata", Schema::Open),
    ("isAppAuthorized", Schema::Value),
    ("exportLinks", Schema::Open),
    (
        "shortcutDetails",
        Schema::Object(&[
            ("targetId", Schema::Value),
            ("targetMimeType", Schema::Value),
            ("targetResourceKey", Schema::Value),
        ]),
    ),
    ("contentRestrictions", Schema::Open),
    ("resourceKey", Schema::Value),
    ("linkShareMetadata", Schema::Open),
    ("labelInfo", Schema::Open),
    ("inheritedPermissionsDisabled", Schema::Value),
    ("downloadRestrictions", Schema::Open),
]);

/// The `Drive` resource (a shared drive).
pub const DRIVE: Schema = Schema::Object(&[
    ("kind", Schema::Value),
    ("id", Schema::Value),
    ("name", Schema::Value),
    ("colorRgb", Schema::Value),
    ("backgroundImageLink", Schema::Value),
    ("backgroundImageFile", Schema::Open),
    ("capabilities", Schema::Open),
    ("createdTime", Schema::Value),
    ("hidden", Schema::Value),
    ("restrictions", Schema::Open),
    ("themeId", Schema::Value),
    ("orgUnitId", Schema::Value),
]);

/// `files.list`'s response.
pub const FILE_LIST: Schema = Schema::Object(&[
    ("kind", Schema::Value),
    ("nextPageToken", Schema::Value),
    ("incompleteSearch", Schema::Value),
    ("files", FILE),
]);

/// The `Change` resource.
pub const CHANGE: Schema = Schema::Object(&[
    ("kind", Schema::Value),
    ("removed", Schema::Value),
    ("file", FILE),
    ("fileId", Schema::Value),
    ("time", Schema::Value),
    ("driveId", Schema::Value),
    ("changeType", Schema::Value),
    ("drive", DRIVE),
    ("teamDriveId", Schema::Value),
    ("teamDrive", Schema::Open),
    ("type", Schema::Value),
]);

/// `changes.list`'s response.
pub const CHANGE_LIST: Schema = Schema::Object(&[
    ("kind", Schema::Value),
    ("nextPageToken", Schema::Value),
    ("newStartPageToken", Schema::Value),
    ("changes", CHANGE),
]);

/// `drives.list`'s response.
pub const DRIVE_LIST: Schema =
    Schema::Object(&[("kind", Schema::Value), ("nextPageToken", Schema::Value), ("drives", DRIVE)]);

/// The `About` resource.
pub const ABOUT: Schema = Schema::Object(&[
    ("kind", Schema::Value),
    ("user", Schema::Open),
    ("storageQuota", Schema::Open),
    ("importFormats", Schema::Open),
    ("exportFormats", Schema::Open),
    ("maxImportSizes", Schema::Open),
    ("maxUploadSize", Schema::Value),
    ("appInstalled", Schema::Value),
    ("folderColorPalette", Schema::Value),
    ("driveThemes", Schema::Open),
    ("canCreateDrives", Schema::Value),
    ("canCreateTeamDrives", Schema::Value),
    ("teamDriveThemes", Schema::Open),
]);

impl Mask {
    /// Checks every named field against the resource's schema; the first unknown one is the
    /// error (as Drive names it: `Invalid field selection <name>`).
    pub fn validate(&self, schema: Schema) -> Result<(), String> {
        let Schema::Object(known) = schema else { return Ok(()) };
        for (name, sub) in &self.fields {
            let Some((_, inner)) = known.iter().find(|(k, _)| k == name) else {
                return Err(name.clone());
            };
            match (sub, inner) {
                (Some(mask), Schema::Object(_)) => mask.validate(*inner)?,
                (Some(_), Schema::Value) => return Err(name.clone()),
                _ => {}
            }
        }
        Ok(())
    }

    /// Keeps only the masked fields of `value` (applied to each element of arrays).
    pub fn apply(&self, value: &Value) -> Value {
        if self.all {
            return value.clone();
        }
        match value {
            Value::Array(items) => Value::Array(items.iter().map(|v| self.apply(v)).collect()),
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (name, sub) in &self.fields {
                    if let Some(v) = map.get(name) {
                        out.insert(name.clone(), sub.as_ref().map(|m| m.apply(v)).unwrap_or_else(|| v.clone()));
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_requested_fields_come_back() {
        let mask = parse("nextPageToken,files(id,capabilities/canDownload)").unwrap();
        let value = json!({"kind": "x", "nextPageToken": "t", "files": [{"id": "1", "name": "n", "capabilities": {"canDownload": true, "canEdit": false}}]});
        assert_eq!(
            mask.apply(&value),
            json!({"nextPageToken": "t", "files": [{"id": "1", "capabilities": {"canDownload": true}}]})
        );
        assert_eq!(parse("*").unwrap().apply(&value), value);
        assert!(parse("files(id").is_err());
    }

    #[test]
    fn an_unknown_field_is_refused_as_drive_refuses_it() {
        let ok =
            parse("nextPageToken,incompleteSearch,files(id,name,shortcutDetails(targetId),capabilities/canDownload)");
        assert_eq!(ok.unwrap().validate(FILE_LIST), Ok(()));
        assert_eq!(parse("files(id,nmae)").unwrap().validate(FILE_LIST), Err("nmae".into()));
        assert_eq!(parse("nextPagetoken").unwrap().validate(FILE_LIST), Err("nextPagetoken".into()));
        assert_eq!(parse("changes(drive(nam))").unwrap().validate(CHANGE_LIST), Err("nam".into()));
        assert_eq!(parse("id(x)").unwrap().validate(FILE), Err("id".into()));
    }
}
