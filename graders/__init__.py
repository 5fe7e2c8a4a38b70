"""Score a submission by running the spec against it: per section, with points and bonus."""
