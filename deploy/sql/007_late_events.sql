-- Late events and the stream's clock (the journey-builder).
--
-- An event for a session already closed reopens it, and an attempt counted
-- abandoned that such an event moves on is taken back when the event
-- belongs before the abandonment: in the session it was abandoned with, or
-- older than it. abandoned_at is the event time the abandonment was
-- counted at (the session's end, or abandon_at for one by time); NULL
-- while the attempt is not counted abandoned, and for attempts counted
-- before this migration (an older event then does not take them back).
ALTER TABLE funnel_progress ADD COLUMN abandoned_at timestamptz;
