//! The licences a dataset may carry: CKAN's `license_list`, the `license_title` and
//! `license_url` of a package, DCAT's `dct:license`, and the dataset page. Open licences only,
//! as the province's open data policy asks; ids are CKAN's (and opendefinition.org's).

use serde::Serialize;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct License {
    pub id: &'static str,
    pub title: &'static str,
    pub url: &'static str,
}

/// The default licence of a new dataset.
pub const DEFAULT: &str = "cc-by-4.0";

pub const LICENSES: &[License] = &[
    License {
        id: "cc-by-4.0",
        title: "Creative Commons Attribution 4.0",
        url: "https://creativecommons.org/licenses/by/4.0/",
    },
    License {
        id: "cc-by-sa-4.0",
        title: "Creative Commons Attribution Share-Alike 4.0",
        url: "https://creativecommons.org/licenses/by-sa/4.0/",
    },
    License {
        id: "cc-zero",
        title: "Creative Commons CCZero",
        url: "https://creativecommons.org/publicdomain/zero/1.0/",
    },
    License {
        id: "odc-by",
        title: "Open Data Commons Attribution License",
        url: "https://opendatacommons.org/licenses/by/1-0/",
    },
    License {
        id: "odc-odbl",
        title: "Open Data Commons Open Database License (ODbL)",
        url: "https://opendatacommons.org/licenses/odbl/1-0/",
    },
    License {
        id: "odc-pddl",
        title: "Open Data Commons Public Domain Dedication and License (PDDL)",
        url: "https://opendatacommons.org/licenses/pddl/1-0/",
    },
];

/// The licence with this id.
pub fn find(id: &str) -> Option<&'static License> {
    LICENSES.iter().find(|l| l.id == id)
}
