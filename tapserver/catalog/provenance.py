"""provenance: the IVOA Provenance DM 1.0 classes as tables (ProvTAP), lower-case names as in the model."""

from __future__ import annotations

from dataclasses import replace

from tapserver.catalog.model import Column, ForeignKey, Table, col

_TS = "timestamp without time zone"
_S = "provenance"


def _fk(table: str, column: str, target: str, target_column: str = "id") -> ForeignKey:
    return ForeignKey(
        key_id=f"prov_{table}_{column}",
        from_table=f"{_S}.{table}",
        target_table=f"{_S}.{target}",
        columns=((column, target_column),),
        description=f"{table}.{column} refers to {target}.{target_column}",
    )


def _id(cls: str, what: str) -> Column:
    return col("id", "text", f"Identifier of the {what}", ucd="meta.id;meta.main",
               utype=f"voprov:{cls}.id", principal=True, indexed=True, nullable=False)


def _ref(name: str, target: str, *, nullable: bool = True, principal: bool = True) -> Column:
    return col(name, "text", f"Identifier of the {target}", ucd="meta.id", principal=principal,
               indexed=True, nullable=nullable)


def _serial_id(what: str) -> Column:
    return col("id", "bigint", f"Row identifier of the {what}", ucd="meta.id", indexed=True,
               nullable=False)


def _role(cls: str) -> Column:
    return col("role", "text", "Role of the relation (free text or a description's role)",
               ucd="meta.code.class", utype=f"voprov:{cls}.role", principal=True)


ENTITY = Table(_S, "entity", "Entities: files, datasets, values and collections (ObsCore datasets are "
               "entities with id = obs_publisher_did)", utype="voprov:Entity", columns=(
    _id("Entity", "entity"),
    col("name", "text", "Human-readable name", ucd="meta.title", utype="voprov:Entity.name", principal=True),
    col("location", "text", "Path or URL of the entity", ucd="meta.ref.url", utype="voprov:Entity.location",
        principal=True),
    col("generatedattime", _TS, "Time the entity was generated", ucd="time.creation",
        utype="voprov:Entity.generatedAtTime", principal=True),
    col("invalidatedattime", _TS, "Time the entity became unusable", ucd="time.end",
        utype="voprov:Entity.invalidatedAtTime"),
    col("comment", "text", "Free-text comment", ucd="meta.note", utype="voprov:Entity.comment"),
    _ref("entitydescription_id", "entity description", principal=False),
    col("entity_class", "text", "Class of the entity: Entity, DatasetEntity, ValueEntity or Collection",
        ucd="meta.code.class", principal=True, nullable=False),
    col("value", "text", "Value of a ValueEntity", ucd="meta.code", utype="voprov:ValueEntity.value"),
    col("content_type", "text", "MIME type of a dataset entity", ucd="meta.code.mime",
        utype="voprov:DatasetDescription.contentType"),
    col("checksum", "text", "Checksum of the file (algorithm:hex)", ucd="meta.code"),
), foreign_keys=(_fk("entity", "entitydescription_id", "entitydescription"),))

ACTIVITY = Table(_S, "activity", "Activities: observations, reductions, ingestions",
                 utype="voprov:Activity", columns=(
    _id("Activity", "activity"),
    col("name", "text", "Human-readable name", ucd="meta.title", utype="voprov:Activity.name",
        principal=True),
    col("starttime", _TS, "Start of the activity", ucd="time.start", utype="voprov:Activity.startTime",
        principal=True),
    col("endtime", _TS, "End of the activity", ucd="time.end", utype="voprov:Activity.endTime",
        principal=True),
    col("comment", "text", "Free-text comment", ucd="meta.note", utype="voprov:Activity.comment"),
    _ref("activitydescription_id", "activity description", principal=False),
), foreign_keys=(_fk("activity", "activitydescription_id", "activitydescription"),))

AGENT = Table(_S, "agent", "Agents: persons, organisations and software responsible for activities",
              utype="voprov:Agent", columns=(
    _id("Agent", "agent"),
    col("name", "text", "Name of the agent", ucd="meta.title", utype="voprov:Agent.name", principal=True,
        nullable=False),
    col("type", "text", "Person, Organization or SoftwareAgent", ucd="meta.code.class",
        utype="voprov:Agent.type", principal=True),
    col("comment", "text", "Free-text comment", ucd="meta.note", utype="voprov:Agent.comment"),
    col("email", "text", "Contact e-mail", ucd="meta.email", utype="voprov:Agent.email"),
    col("affiliation", "text", "Affiliation", ucd="meta.note", utype="voprov:Agent.affiliation"),
    col("phone", "text", "Contact phone number", ucd="meta.note", utype="voprov:Agent.phone"),
    col("address", "text", "Postal address", ucd="meta.note", utype="voprov:Agent.address"),
    col("url", "text", "Home page", ucd="meta.ref.url", utype="voprov:Agent.url"),
))

USED = Table(_S, "used", "Used relations: an activity used an entity", utype="voprov:Used", columns=(
    _serial_id("usage"),
    _ref("activity_id", "activity that used the entity", nullable=False),
    _ref("entity_id", "entity that was used", nullable=False),
    _role("Used"),
    col("time", _TS, "Time of the usage", ucd="time.start", utype="voprov:Used.time"),
    _ref("usagedescription_id", "usage description", principal=False),
), foreign_keys=(
    _fk("used", "activity_id", "activity"),
    _fk("used", "entity_id", "entity"),
    _fk("used", "usagedescription_id", "usagedescription"),
))

WASGENERATEDBY = Table(_S, "wasgeneratedby", "Generation relations: an entity was generated by an activity",
                       utype="voprov:WasGeneratedBy", columns=(
    _serial_id("generation"),
    _ref("entity_id", "generated entity", nullable=False),
    _ref("activity_id", "generating activity", nullable=False),
    _role("WasGeneratedBy"),
    _ref("generationdescription_id", "generation description", principal=False),
), foreign_keys=(
    _fk("wasgeneratedby", "entity_id", "entity"),
    _fk("wasgeneratedby", "activity_id", "activity"),
    _fk("wasgeneratedby", "generationdescription_id", "generationdescription"),
))

WASDERIVEDFROM = Table(_S, "wasderivedfrom", "Derivation shortcuts: an entity was derived from another",
                       utype="voprov:WasDerivedFrom", columns=(
    _serial_id("derivation"),
    _ref("generatedentity_id", "derived entity", nullable=False),
    _ref("usedentity_id", "progenitor entity", nullable=False),
    _ref("activity_id", "activity of the derivation, if known", principal=False),
), foreign_keys=(
    _fk("wasderivedfrom", "generatedentity_id", "entity"),
    _fk("wasderivedfrom", "usedentity_id", "entity"),
    _fk("wasderivedfrom", "activity_id", "activity"),
))

WASINFORMEDBY = Table(_S, "wasinformedby", "Communication shortcuts: an activity used what another made",
                      utype="voprov:WasInformedBy", columns=(
    _serial_id("communication"),
    _ref("informed_id", "informed activity", nullable=False),
    _ref("informant_id", "informant activity", nullable=False),
), foreign_keys=(
    _fk("wasinformedby", "informed_id", "activity"),
    _fk("wasinformedby", "informant_id", "activity"),
))

WASASSOCIATEDWITH = Table(_S, "wasassociatedwith", "Association relations: an agent took part in an activity",
                          utype="voprov:WasAssociatedWith", columns=(
    _serial_id("association"),
    _ref("activity_id", "activity", nullable=False),
    _ref("agent_id", "agent", nullable=False),
    _role("WasAssociatedWith"),
), foreign_keys=(
    _fk("wasassociatedwith", "activity_id", "activity"),
    _fk("wasassociatedwith", "agent_id", "agent"),
))

WASATTRIBUTEDTO = Table(_S, "wasattributedto", "Attribution relations: an entity is attributed to an agent",
                        utype="voprov:WasAttributedTo", columns=(
    _serial_id("attribution"),
    _ref("entity_id", "entity", nullable=False),
    _ref("agent_id", "agent", nullable=False),
    _role("WasAttributedTo"),
), foreign_keys=(
    _fk("wasattributedto", "entity_id", "entity"),
    _fk("wasattributedto", "agent_id", "agent"),
))

HADMEMBER = Table(_S, "hadmember", "Membership: a collection entity had an entity as member",
                  utype="voprov:HadMember", columns=(
    _ref("collection_id", "collection entity", nullable=False),
    _ref("entity_id", "member entity", nullable=False),
), foreign_keys=(
    _fk("hadmember", "collection_id", "entity"),
    _fk("hadmember", "entity_id", "entity"),
))


def _description_common(cls: str) -> tuple[Column, ...]:
    return (
        col("description", "text", "Description", ucd="meta.note", utype=f"voprov:{cls}.description"),
        col("type", "text", "Type from the Provenance DM vocabulary", ucd="meta.code.class",
            utype=f"voprov:{cls}.type"),
    )


ACTIVITYDESCRIPTION = Table(_S, "activitydescription", "Descriptions of kinds of activities (software, "
                            "version, documentation)", utype="voprov:ActivityDescription", columns=(
    _id("ActivityDescription", "activity description"),
    col("name", "text", "Name (e.g. the software)", ucd="meta.title", utype="voprov:ActivityDescription.name",
        principal=True, nullable=False),
    col("version", "text", "Version", ucd="meta.version", utype="voprov:ActivityDescription.version",
        principal=True),
    *_description_common("ActivityDescription"),
    col("subtype", "text", "Project-defined subtype", ucd="meta.code.class",
        utype="voprov:ActivityDescription.subtype"),
    col("docurl", "text", "Documentation URL", ucd="meta.ref.url", utype="voprov:ActivityDescription.docurl"),
))

ENTITYDESCRIPTION = Table(_S, "entitydescription", "Descriptions of kinds of entities",
                          utype="voprov:EntityDescription", columns=(
    _id("EntityDescription", "entity description"),
    col("name", "text", "Name", ucd="meta.title", utype="voprov:EntityDescription.name", principal=True,
        nullable=False),
    *_description_common("EntityDescription"),
    col("docurl", "text", "Documentation URL", ucd="meta.ref.url", utype="voprov:EntityDescription.docurl"),
    col("content_type", "text", "MIME type of datasets of this kind", ucd="meta.code.mime",
        utype="voprov:DatasetDescription.contentType"),
    col("value_type", "text", "VOTable type of values of this kind", ucd="meta.code",
        utype="voprov:ValueDescription.valueType"),
    col("unit", "text", "Unit of values", ucd="meta.unit", utype="voprov:ValueDescription.unit"),
    col("ucd", "text", "UCD of values", ucd="meta.ucd", utype="voprov:ValueDescription.ucd"),
    col("utype", "text", "Utype of values", ucd="meta.code", utype="voprov:ValueDescription.utype"),
))


def _role_description(name: str, cls: str, what: str) -> Table:
    return Table(_S, name, f"Descriptions of the {what} roles of an activity description",
                 utype=f"voprov:{cls}", columns=(
        _id(cls, f"{what} description"),
        _ref("activitydescription_id", "activity description", nullable=False),
        col("role", "text", "Role", ucd="meta.code.class", utype=f"voprov:{cls}.role", principal=True,
            nullable=False),
        *_description_common(cls),
        col("multiplicity", "text", "Multiplicity (1, *, 3..*)", ucd="meta.number",
            utype=f"voprov:{cls}.multiplicity"),
        _ref("entitydescription_id", "entity description", principal=False),
    ), foreign_keys=(
        _fk(name, "activitydescription_id", "activitydescription"),
        _fk(name, "entitydescription_id", "entitydescription"),
    ))


USAGEDESCRIPTION = _role_description("usagedescription", "UsageDescription", "usage")
GENERATIONDESCRIPTION = _role_description("generationdescription", "GenerationDescription", "generation")

PARAMETER = Table(_S, "parameter", "Configuration parameters of activities",
                  utype="voprov:Parameter", columns=(
    _serial_id("parameter"),
    _ref("activity_id", "configured activity", nullable=False),
    col("name", "text", "Parameter name", ucd="meta.id", utype="voprov:Parameter.name", principal=True,
        nullable=False),
    col("value", "text", "Parameter value", ucd="meta.code", utype="voprov:Parameter.value",
        principal=True, nullable=False),
    _ref("parameterdescription_id", "parameter description", principal=False),
    _ref("valueentity_id", "value entity the value came from", principal=False),
), foreign_keys=(
    _fk("parameter", "activity_id", "activity"),
    _fk("parameter", "parameterdescription_id", "parameterdescription"),
    _fk("parameter", "valueentity_id", "entity"),
))

PARAMETERDESCRIPTION = Table(_S, "parameterdescription", "Descriptions of configuration parameters",
                             utype="voprov:ParameterDescription", columns=(
    _id("ParameterDescription", "parameter description"),
    _ref("activitydescription_id", "activity description", principal=False),
    col("name", "text", "Parameter name", ucd="meta.id", utype="voprov:ParameterDescription.name",
        principal=True, nullable=False),
    col("value_type", "text", "VOTable type of the value", ucd="meta.code",
        utype="voprov:ParameterDescription.valueType", nullable=False),
    col("description", "text", "Description", ucd="meta.note", utype="voprov:ParameterDescription.description"),
    col("unit", "text", "Unit", ucd="meta.unit", utype="voprov:ParameterDescription.unit"),
    col("ucd", "text", "UCD", ucd="meta.ucd", utype="voprov:ParameterDescription.ucd"),
    col("utype", "text", "Utype", ucd="meta.code", utype="voprov:ParameterDescription.utype"),
    col("min", "text", "Minimum value", ucd="stat.min", utype="voprov:ParameterDescription.min"),
    col("max", "text", "Maximum value", ucd="stat.max", utype="voprov:ParameterDescription.max"),
    col("default", "text", "Default value", ucd="meta.code", utype="voprov:ParameterDescription.default"),
    col("options", "text", "Allowed values, |-separated", ucd="meta.code",
        utype="voprov:ParameterDescription.options"),
), foreign_keys=(_fk("parameterdescription", "activitydescription_id", "activitydescription"),))

CONFIGFILE = Table(_S, "configfile", "Configuration files of activities", utype="voprov:ConfigFile", columns=(
    _serial_id("configuration file"),
    _ref("activity_id", "configured activity", nullable=False),
    col("name", "text", "Name", ucd="meta.id", utype="voprov:ConfigFile.name", principal=True,
        nullable=False),
    col("location", "text", "Path or URL", ucd="meta.ref.url", utype="voprov:ConfigFile.location",
        principal=True, nullable=False),
    col("comment", "text", "Comment", ucd="meta.note", utype="voprov:ConfigFile.comment"),
    _ref("configfiledescription_id", "configuration file description", principal=False),
), foreign_keys=(
    _fk("configfile", "activity_id", "activity"),
    _fk("configfile", "configfiledescription_id", "configfiledescription"),
))

CONFIGFILEDESCRIPTION = Table(_S, "configfiledescription", "Descriptions of configuration files",
                              utype="voprov:ConfigFileDescription", columns=(
    _id("ConfigFileDescription", "configuration file description"),
    _ref("activitydescription_id", "activity description", principal=False),
    col("name", "text", "Name", ucd="meta.id", utype="voprov:ConfigFileDescription.name", principal=True,
        nullable=False),
    col("content_type", "text", "MIME type", ucd="meta.code.mime",
        utype="voprov:ConfigFileDescription.contentType", nullable=False),
    col("description", "text", "Description", ucd="meta.note",
        utype="voprov:ConfigFileDescription.description"),
), foreign_keys=(_fk("configfiledescription", "activitydescription_id", "activitydescription"),))

# Free text written by people may hold any character: unicodeChar (VOTable char is ASCII only).
_FREE_TEXT = frozenset({"name", "comment", "description", "affiliation", "address"})


def _unicode_free_text(table: Table) -> Table:
    return table.with_columns(
        replace(c, datatype="unicodeChar") if c.name in _FREE_TEXT and c.datatype == "char" else c
        for c in table.columns
    )


PROVENANCE_TABLES = tuple(_unicode_free_text(t) for t in (
    ENTITY, ACTIVITY, AGENT, USED, WASGENERATEDBY, WASDERIVEDFROM, WASINFORMEDBY, WASASSOCIATEDWITH,
    WASATTRIBUTEDTO, HADMEMBER, ACTIVITYDESCRIPTION, ENTITYDESCRIPTION, USAGEDESCRIPTION,
    GENERATIONDESCRIPTION, PARAMETER, PARAMETERDESCRIPTION, CONFIGFILE, CONFIGFILEDESCRIPTION,
))
