// Package relay is the SMTP side of `m365send relay`: it accepts mail from
// devices and applications that speak SMTP with a password (printers,
// scanners, line-of-business applications) and hands each message to a
// durable queue (package queue), from which it is delivered to Exchange
// Online through a profile's mailbox.
//
// The relay is never an open relay. A client either authenticates with
// AUTH PLAIN or LOGIN (offered only inside TLS, unless a listener allows
// plaintext for named networks) as a user from the `[[relay.users]]` table,
// or connects from a network of `[[relay.networks]]`. Each user and each
// network may send only as the profiles it is given; the profile is chosen
// from the envelope sender (MAIL FROM).
//
// A message is acknowledged with 250 only after queue.Queue.Enqueue
// returned, that is once it is durable.
package relay
