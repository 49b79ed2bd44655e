//! Who the client is when the service runs behind a reverse proxy. Every request then arrives
//! from the proxy's address, so sign-in throttles and cost budgets keyed by address would treat
//! all anonymous users as one. The proxy names the client in `X-Forwarded-For`; that header is
//! believed only from the proxies an operator lists, since any client can send it.

use std::net::IpAddr;

/// The address budgets and throttles are charged to: the peer's, unless the peer is a trusted
/// proxy, then the nearest address in `X-Forwarded-For` that is not itself a trusted proxy
/// (proxies append the address they received from, so the list is read from the right).
pub fn client_address(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpAddr],
) -> String {
    let Some(peer) = peer else {
        return "unknown".into();
    };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let Some(list) = forwarded_for else {
        return peer.to_string();
    };
    let mut nearest = peer;
    for hop in list.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(address) if trusted.contains(&address) => nearest = address,
            Ok(address) => return address.to_string(),
            // A malformed entry: what lies beyond it cannot be trusted either.
            Err(_) => break,
        }
    }
    nearest.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_is_believed_only_from_a_trusted_proxy() {
        let proxy = [ip("10.0.0.1")];
        let header = Some("203.0.113.7");
        assert_eq!(
            client_address(Some(ip("198.51.100.2")), header, &proxy),
            "198.51.100.2",
            "a client naming itself someone else"
        );
        assert_eq!(
            client_address(Some(ip("10.0.0.1")), header, &proxy),
            "203.0.113.7"
        );
        assert_eq!(
            client_address(Some(ip("10.0.0.1")), None, &proxy),
            "10.0.0.1"
        );
        assert_eq!(
            client_address(Some(ip("10.0.0.1")), header, &[]),
            "10.0.0.1"
        );
        assert_eq!(client_address(None, header, &proxy), "unknown");
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let proxies = [ip("10.0.0.1"), ip("10.0.0.2")];
        let peer = Some(ip("10.0.0.1"));
        // The client forged the first entry; the proxies appended the real one and each other.
        let header = Some("1.2.3.4, 203.0.113.7, 10.0.0.2");
        assert_eq!(client_address(peer, header, &proxies), "203.0.113.7");
        assert_eq!(
            client_address(peer, Some("10.0.0.2"), &proxies),
            "10.0.0.2",
            "only proxies: the farthest of them"
        );
        assert_eq!(
            client_address(peer, Some("1.2.3.4, garbage, 10.0.0.2"), &proxies),
            "10.0.0.2",
            "nothing beyond a malformed entry is believed"
        );
        assert_eq!(
            client_address(peer, Some("2001:db8::1 , 10.0.0.2"), &proxies),
            "2001:db8::1"
        );
    }
}
