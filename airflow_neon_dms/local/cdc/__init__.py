"""Change data capture for PostgreSQL sources in the local DMS, by logical decoding.

The pieces, each usable on its own and tested against real servers:

- ``slots``: the task's logical replication slot (created with an exported snapshot, dropped on
  delete) and the source checks that fail with the setting and the fix;
- ``test_decoding``: a parser for the ``test_decoding`` output plugin's text;
- ``slot_reader``: whole source transactions read from the slot in commit order, and confirmed;
- ``apply``: one target transaction per source transaction, with the applied position kept in a
  control table on the target;
- ``engine``: the loop that ties them together, caches changes of tables still in full load and
  honours ``CdcStopPosition``;
- ``stop_position``: ``CdcStopPosition`` parsing and the StopReason DMS reports for each form.

Nothing here imports the provider's rule modules (mappings, settings, Neon rules): the caller
passes the table mapping as a callable.
"""
