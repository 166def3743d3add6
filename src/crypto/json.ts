/** Values that can cross a link, be persisted, be hashed and be signed. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
