//! actix-web's header map (on `http` 0.2) as the manager sees it: the one translation the
//! request protocol needs on the response side.

use std::borrow::Cow;

use actix_web::http::header::{
    HeaderMap, HeaderName, HeaderValue, CACHE_CONTROL, SET_COOKIE, VARY,
};

use crate::cache_control::{invalid_value, ResponseHeader, ResponseHeaders};

/// actix-web's header map (on `http` 0.2) as the manager sees it.
impl ResponseHeaders for HeaderMap {
    fn header_values(&self, name: ResponseHeader) -> Vec<&[u8]> {
        self.get_all(actix_name(name))
            .map(HeaderValue::as_bytes)
            .collect()
    }

    fn set_header(&mut self, name: ResponseHeader, value: Cow<'static, str>) {
        let value = match value {
            Cow::Borrowed(constant) => Ok(HeaderValue::from_static(constant)),
            Cow::Owned(text) => HeaderValue::try_from(text),
        };
        match value {
            Ok(value) => {
                self.insert(actix_name(name), value);
            }
            Err(_) => invalid_value(name),
        }
    }

    fn append_header(&mut self, name: ResponseHeader, value: String) {
        if let Some((name, value)) = actix_header(name, value) {
            self.append(name, value);
        }
    }
}

fn actix_header(name: ResponseHeader, value: String) -> Option<(HeaderName, HeaderValue)> {
    let value = HeaderValue::try_from(value)
        .map_err(|_| invalid_value(name))
        .ok()?;
    Some((actix_name(name), value))
}

fn actix_name(name: ResponseHeader) -> HeaderName {
    match name {
        ResponseHeader::CacheControl => CACHE_CONTROL,
        ResponseHeader::Vary => VARY,
        _ => SET_COOKIE,
    }
}
