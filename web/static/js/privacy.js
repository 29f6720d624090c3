// /privacy: the privacy notice (its text lives in i18n.js, both languages).
import { initLayout } from "./layout.js";

initLayout();
