"""Sync from the CRM: ``pull.sync`` pulls partners, partner leads and deals changed since each entity's
cursor into the state store (the cursor trails the data); ``watch.SyncWatch`` tells people what a run
means (new partners, a sync that keeps failing)."""
