// A knowledge-base article's own page (/kb/<id>, written on the server): the site's header, the
// language switch for the page's own words (the article stays as written).
import { initLayout } from "./layout.js";

initLayout();
