// Package testkit is the home of every test harness, so that the rest of
// internal/ (configuration, observability, the component runner) never
// imports a subsystem: only packages under internal/testkit may.
//
//	testenv     the real local stack's addresses, unique names, loud failures
//	stacktest   a fresh Kafka topic and a real collector, loadgen traffic through it
//	enginetest  seeded events as rollup documents in Elasticsearch, and the exact oracle
//	querytest   the query-API contract every system passes (unknown customer, ...)
package testkit
