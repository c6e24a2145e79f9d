"""RabbitMQ: every connection, the topology, and the roles that talk to the broker.

connection.py — connection parameters and TLS for every client, failures named without secrets.
topology.py — exchange, queue and binding names and their idempotent declaration.
reconnecting_client.py — BrokerClient, the base of every long-running RabbitMQ role.
relay.py — the outbox relay: committed outbox rows published with publisher confirms.
destinations.py — the queue a message is addressed to exists and is bound, or is declared again.
feedback_consumer.py — workers' accept/resolve messages move incidents through the closed loop.
grants.py — what each RabbitMQ user may do: permission regexes for the pipeline and workers.
admin.py — user administration behind one interface.
management_api.py — that interface through the management plugin's HTTP API.
rabbitmqctl.py — that interface through `rabbitmqctl` on the broker's host.
provision.py — bring a broker's users and permissions in line with a topology.
"""
