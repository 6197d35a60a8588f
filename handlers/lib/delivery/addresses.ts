/**
 * Which IP addresses a delivery may connect to. A subscription URL is a request the stack makes on
 * a user's behalf from inside their account, so it must never reach the instance metadata service,
 * a VPC-internal host or the function itself (SSRF). The sender checks every address DNS returns,
 * at connect time (see sender.ts), and stack config refuses IP-literal hosts in these ranges early.
 */
import { isIP } from "node:net";

/** IPv4 ranges no delivery may reach: [network, prefix length, why]. */
const BLOCKED_V4: readonly [string, number, string][] = [
  ["0.0.0.0", 8, "this network"],
  ["10.0.0.0", 8, "private (RFC 1918)"],
  ["100.64.0.0", 10, "carrier-grade NAT (RFC 6598)"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local, including the instance metadata service 169.254.169.254"],
  ["172.16.0.0", 12, "private (RFC 1918)"],
  ["192.0.0.0", 24, "IETF protocol assignments"],
  ["192.168.0.0", 16, "private (RFC 1918)"],
  ["198.18.0.0", 15, "benchmarking"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved, including broadcast"],
];

function v4ToInt(address: string): number {
  return address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

function blockedV4(address: string): string | undefined {
  const value = v4ToInt(address);
  for (const [network, bits, why] of BLOCKED_V4) {
    const size = 2 ** (32 - bits);
    const start = v4ToInt(network);
    if (value >= start && value < start + size) return why;
  }
  return undefined;
}

/** The 8 16-bit groups of an IPv6 address (with `::` expanded and a dotted IPv4 tail converted). */
function v6Groups(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, "");
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = v4ToInt(dotted[1]!);
    text = text.slice(0, -dotted[1]!.length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...fill, ...right].map((g) => parseInt(g, 16));
}

function blockedV6(address: string): string | undefined {
  const g = v6Groups(address);
  if (g.every((x) => x === 0)) return "unspecified (::)";
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return "loopback (::1)";
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d): judge the IPv4 address inside,
  // and refuse mapped forms outright, since some stacks connect to them as IPv4.
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) return "IPv4-mapped or IPv4-compatible IPv6";
  if (g[0] === 0x64 && g[1] === 0xff9b) return "NAT64 (64:ff9b::/96)";
  if ((g[0]! & 0xfe00) === 0xfc00) return "unique local (fc00::/7)";
  if ((g[0]! & 0xffc0) === 0xfe80) return "link-local (fe80::/10)";
  if ((g[0]! & 0xff00) === 0xff00) return "multicast (ff00::/8)";
  if (g[0] === 0x2001 && g[1] === 0x0db8) return "documentation (2001:db8::/32)";
  return undefined;
}

/**
 * Why `address` (an IP literal) may not be delivered to, or undefined when it is a public address.
 * Anything that is not an IP literal is refused too: the caller must resolve names first.
 */
export function blockedAddressReason(address: string): string | undefined {
  const family = isIP(address.replace(/^\[|\]$/g, ""));
  if (family === 4) return blockedV4(address);
  if (family === 6) return blockedV6(address.replace(/^\[|\]$/g, ""));
  return "not an IP address";
}

/** Whether a URL host is an IP literal (IPv6 in brackets, as URL.hostname gives it). */
export function isIpLiteralHost(hostname: string): boolean {
  return isIP(hostname.replace(/^\[|\]$/g, "")) !== 0;
}

/** Loopback only: what the local stack lets through when it allows http://127.0.0.1 receivers. */
export function isLoopback(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, "");
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) === 6) {
    const g = v6Groups(bare);
    return g.slice(0, 7).every((x) => x === 0) && g[7] === 1;
  }
  return false;
}
