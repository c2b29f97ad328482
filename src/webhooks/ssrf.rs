//! The SSRF guard: webhook URLs must be http(s) and reach only public addresses. Checked when
//! the URL is saved and again at send time by the HTTP client's resolver, which hands the
//! connector only addresses it has checked (so a DNS answer cannot change in between).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Is this address on the public Internet? Loopback, private, link-local, CGNAT, multicast,
/// unspecified, documentation, benchmarking, IPv6 unique-local and IPv4-mapped forms of those
/// are not.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let seg = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
                || (seg[0] == 0x0064 && seg[1] == 0xff9b) // NAT64 to anything
                || seg[0] == 0x2002 // 6to4, embeds an IPv4 address
                || (seg[0] == 0x2001 && seg[1] == 0x0000) // Teredo, embeds an IPv4 address
                || (seg[0] & 0xffc0) == 0xfec0 // deprecated site-local
                || (seg[..4] == [0, 0, 0, 0] && seg[4] == 0xffff && seg[5] == 0) // IPv4-translated ::ffff:0:a.b.c.d
                || seg[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (64..=127).contains(&o[1])) // CGNAT 100.64.0.0/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (18..=19).contains(&o[1])) // benchmarking
        || o[0] >= 240) // reserved
}

/// Allowed when the configuration permits loopback (local development and tests only).
fn allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    is_public(ip) || (allow_loopback && ip.is_loopback())
}

/// Why a URL is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    Malformed,
    Scheme,
    Credentials,
    PrivateAddress,
    Unresolvable,
}

/// Check a URL's shape and, for IP literals, its address (host names are checked by
/// [`resolve_checked`] and by the client's resolver at send time).
pub fn check_shape(input: &str, allow_loopback: bool) -> Result<reqwest::Url, UrlError> {
    let url = reqwest::Url::parse(input.trim()).map_err(|_| UrlError::Malformed)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials);
    }
    match url.host() {
        None => Err(UrlError::Malformed),
        Some(url::Host::Ipv4(ip)) if !allowed(IpAddr::V4(ip), allow_loopback) => Err(UrlError::PrivateAddress),
        Some(url::Host::Ipv6(ip)) if !allowed(IpAddr::V6(ip), allow_loopback) => Err(UrlError::PrivateAddress),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost") => {
            if allow_loopback {
                Ok(url.clone())
            } else {
                Err(UrlError::PrivateAddress)
            }
        }
        Some(_) => Ok(url),
    }
}

/// Check a URL fully: shape, then every address its host resolves to.
pub async fn resolve_checked(input: &str, allow_loopback: bool) -> Result<reqwest::Url, UrlError> {
    let url = check_shape(input, allow_loopback)?;
    if let Some(url::Host::Domain(host)) = url.host() {
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await.map_err(|_| UrlError::Unresolvable)?.collect();
        if addrs.is_empty() {
            return Err(UrlError::Unresolvable);
        }
        if addrs.iter().any(|a| !allowed(a.ip(), allow_loopback)) {
            return Err(UrlError::PrivateAddress);
        }
    }
    Ok(url)
}

/// The HTTP client's resolver: resolves, then refuses names with any non-public address.
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    pub allow_loopback: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if addrs.is_empty() || addrs.iter().any(|a| !allowed(a.ip(), allow_loopback)) {
                return Err("webhook host resolves to a non-public address".into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_refused() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "2002:7f00:1::",
            "2001:0:4136:e378::1",
            "fec0::1",
            "::ffff:0:7f00:1",
        ] {
            assert!(!is_public(bad.parse().unwrap()), "{bad}");
        }
        for good in ["8.8.8.8", "41.202.219.1", "2606:4700:4700::1111"] {
            assert!(is_public(good.parse().unwrap()), "{good}");
        }
    }

    #[test]
    fn url_shapes() {
        assert!(check_shape("https://shop.example.cm/hooks/delivr", false).is_ok());
        assert_eq!(check_shape("ftp://shop.cm/x", false), Err(UrlError::Scheme));
        assert_eq!(check_shape("not a url", false), Err(UrlError::Malformed));
        assert_eq!(check_shape("http://user:pw@shop.cm/", false), Err(UrlError::Credentials));
        assert_eq!(check_shape("http://127.0.0.1:8080/", false), Err(UrlError::PrivateAddress));
        assert_eq!(check_shape("http://[::ffff:192.168.0.1]/", false), Err(UrlError::PrivateAddress));
        assert_eq!(check_shape("http://localhost/", false), Err(UrlError::PrivateAddress));
        assert!(check_shape("http://127.0.0.1:8080/", true).is_ok());
    }
}
