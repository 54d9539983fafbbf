// Home: overview section.
"use strict";
