"""depsim: a faithful simulator of Apple's DEP web service with a mini Apple Business Manager."""
