"""One input per process parameter, chosen from its JSON schema, with inline validation errors.

AOI subtypes get the AOI map, ``temporal-interval`` the date-range picker, ``collection-id`` the
collection picker (bound to the backend), ``band-name`` band pickers following that collection,
bounded numbers sliders, enums dropdowns, booleans checkboxes, anything else a JSON editor.
``ParameterInput.read()`` gives ``(value, error)``: the value as the process receives it, checked
against the schema (:func:`jupyter_eo.graph.process_doc.check_value`).
"""
from __future__ import annotations

import html
import json
from typing import Any, Callable

import ipywidgets as w

from jupyter_eo.graph.process_doc import check_value, enum_options, number_bounds, parameter_kind, schemas_of
from jupyter_eo.widgets.style import error_html

__all__ = ["ParameterInput", "make_input", "FormContext"]

_MISSING = object()


class FormContext:
    """What inputs of one form share: the connection, the AOI map, and the collection picker."""

    def __init__(self, connection: Any, map_factory: Callable[[], Any]) -> None:
        self.connection = connection
        self._map_factory = map_factory
        self.aoi_maps: list[Any] = []
        self.collection_picker: Any = None
        self._collections: list[dict[str, Any]] | None = None
        self._followers: list[Callable[[dict[str, Any] | None], None]] = []

    def new_map(self) -> Any:
        aoi_map = self._map_factory()
        self.aoi_maps.append(aoi_map)
        return aoi_map

    def collections(self) -> list[dict[str, Any]]:
        if self._collections is None:
            self._collections = list(self.connection.list_collections()) if self.connection is not None else []
        return self._collections

    def follow_collection(self, callback: Callable[[dict[str, Any] | None], None]) -> None:
        """Call ``callback(metadata)`` now and whenever the form's collection changes."""
        self._followers.append(callback)
        callback(self.current_collection())

    def current_collection(self) -> dict[str, Any] | None:
        """The chosen collection's metadata (None when the process has no collection parameter)."""
        return self.collection_picker.collection if self.collection_picker is not None else None

    def set_collection_picker(self, picker: Any) -> None:
        self.collection_picker = picker
        picker.observe(lambda change: [f(change["new"]) for f in self._followers], names="collection")


class ParameterInput:
    """The input of one parameter: ``box`` (label, control, error line) and ``read()``."""

    def __init__(self, parameter: dict[str, Any], control: Any, getter: Callable[[], Any],
                 kind: str) -> None:
        self.parameter = parameter
        self.name = parameter["name"]
        self.kind = kind
        self.control = control
        self._getter = getter
        self.required = not parameter.get("optional") and "default" not in parameter
        mark = ' <span class="jeo-required" title="required">*</span>' if self.required else ""
        description = html.escape((parameter.get("description") or "").strip().split("\n")[0][:200])
        self.label = w.HTML(f"<b>{html.escape(self.name)}</b>{mark} "
                            f"<span style='opacity:.75'>{description}</span>")
        self.error = w.HTML()
        self.box = w.VBox([self.label, control, self.error], layout=w.Layout(width="100%", margin="0 0 .4em 0"))
        self.box.add_class("jeo-parameter")
        self.box.add_class(f"jeo-parameter-{self.name}")

    def read(self) -> tuple[Any, str | None]:
        """(value, None) when valid — value ``None`` means "not given" — else (None, message);
        the message is also shown under the input."""
        try:
            value = self._getter()
        except ValueError as exc:
            return self._fail(str(exc))
        if value is None and self.required:
            return self._fail("required: give a value.")
        problem = check_value(self.parameter, value) if value is not None else None
        if problem:
            return self._fail(problem)
        self.error.value = ""
        return value, None

    def _fail(self, message: str) -> tuple[None, str]:
        self.error.value = error_html(f"{self.name}: {message}")
        return None, message


def _default(parameter: dict[str, Any]) -> Any:
    return parameter.get("default", _MISSING)


def make_input(parameter: dict[str, Any], context: FormContext) -> ParameterInput:
    """The input widget for ``parameter`` (see the module docstring for the choice)."""
    kind = parameter_kind(parameter)
    maker = _MAKERS.get(kind, _json_input)
    control, getter = maker(parameter, context)
    return ParameterInput(parameter, control, getter, kind)


# -- makers: (parameter, context) -> (control, getter) ------------------------------------
def _aoi_input(parameter: dict[str, Any], context: FormContext) -> tuple[Any, Callable[[], Any]]:
    aoi_map = context.new_map()
    default = _default(parameter)
    if isinstance(default, dict) and {"west", "south", "east", "north"} <= set(default):
        if default.get("crs") in (None, 4326, "EPSG:4326"):  # a projected default is not drawn
            aoi_map.set_aoi(tuple(float(default[k]) for k in ("west", "south", "east", "north")))
    elif isinstance(default, dict):
        try:
            aoi_map.set_aoi(default.get("geometry") if default.get("type") == "Feature" else default)
        except Exception:  # noqa: BLE001 - an unusable default: the user draws the AOI
            pass
    subtypes = {s.get("subtype") for s in schemas_of(parameter)}
    from jupyter_eo.widgets.geometry import is_rectangle

    def get() -> Any:
        if aoi_map.aoi is None:
            return None
        west, south, east, north = aoi_map.bbox
        bbox = {"west": west, "south": south, "east": east, "north": north}
        if "bounding-box" in subtypes and (is_rectangle(aoi_map.aoi) or not subtypes & {"geojson", "geometry"}):
            return bbox
        return aoi_map.aoi

    return aoi_map, get


def _temporal_input(parameter: dict[str, Any], context: FormContext) -> tuple[Any, Callable[[], Any]]:
    from jupyter_eo.widgets.pickers import TemporalExtentPicker

    default = _default(parameter)
    value = tuple(default) if isinstance(default, list) and len(default) == 2 and all(default) else None
    picker = TemporalExtentPicker(value)
    context.follow_collection(lambda meta: picker.set_collection(meta) if meta else None)
    return picker, lambda: [str(v) for v in picker.value]


def _collection_input(parameter: dict[str, Any], context: FormContext) -> tuple[Any, Callable[[], Any]]:
    from jupyter_eo.widgets.pickers import CollectionPicker

    default = _default(parameter)
    ids = {c.get("id") for c in context.collections()}
    picker = CollectionPicker(context.collections(), describe=context.connection.describe_collection
                              if context.connection is not None else None,
                              value=default if default in ids else None)
    if context.collection_picker is None:
        context.set_collection_picker(picker)
    return picker, lambda: picker.value


def _band_input(parameter: dict[str, Any], context: FormContext) -> tuple[Any, Callable[[], Any]]:
    default = _default(parameter)
    dropdown = w.Dropdown(options=[], layout=w.Layout(width="24em"))

    def follow(meta: dict[str, Any] | None) -> None:
        from jupyter_eo.widgets.metadata import band_label, collection_bands

        bands = collection_bands(meta) if meta else []
        keep = dropdown.value
        options = [(band_label(b), b["name"]) for b in bands]
        names = [b["name"] for b in bands]
        if default is not _MISSING and default not in names:
            options.insert(0, (str(default), default))
            names.insert(0, default)
        dropdown.options = options
        wanted = keep if keep in names else (default if default is not _MISSING else None)
        dropdown.value = wanted if wanted in names else (names[0] if names else None)

    context.follow_collection(follow)
    return dropdown, lambda: dropdown.value


def _bands_input(parameter: dict[str, Any], context: FormContext) -> tuple[Any, Callable[[], Any]]:
    from jupyter_eo.widgets.pickers import BandPicker

    picker = BandPicker()
    default = _default(parameter)

    def follow(meta: dict[str, Any] | None) -> None:
        keep = picker.value
        picker.set_collection(meta or {"summaries": {"eo:bands": [{"name": b} for b in (
            default if isinstance(default, list) else [])]}})
        names = [b["name"] for b in picker.bands]
        wanted = keep or (tuple(default) if isinstance(default, list) else ())
        picker.value = tuple(b for b in wanted if b in names)

    if context.collection_picker is not None:
        context.follow_collection(follow)
    else:
        collections = context.collections()
        follow(_describe(context, collections[0]["id"]) if collections else None)
    return picker, lambda: list(picker.value) or None


def _describe(context: FormContext, collection_id: str) -> dict[str, Any] | None:
    try:
        return context.connection.describe_collection(collection_id)
    except Exception:  # noqa: BLE001 - no metadata: band names from the default only
        return None


def _enum_input(parameter: dict[str, Any], context: FormContext) -> tuple[Any, Callable[[], Any]]:
    options = enum_options(parameter)
    default = _default(parameter)
    labels = [(str(o), o) for o in options]
    if not parameter.get("optional") and default is _MISSING:
        labels.insert(0, ("— choose —", None))
    dropdown = w.Dropdown(options=labels, value=default if default in options else labels[0][1],
                          layout=w.Layout(width="24em"))
    return dropdown, lambda: dropdown.value


def _slider_input(parameter: dict[str, Any], context: FormContext) -> tuple[Any, Callable[[], Any]]:
    schema = schemas_of(parameter)[0]
    low, high = number_bounds(schema)
    default = _default(parameter)
    integer = schema.get("type") == "integer"
    start = default if isinstance(default, (int, float)) and not isinstance(default, bool) else low
    if integer:
        slider = w.IntSlider(value=int(start), min=int(low), max=int(high), step=1, continuous_update=False,
                             layout=w.Layout(width="28em"))
    else:
        slider = w.FloatSlider(value=float(start), min=float(low), max=float(high), step=(high - low) / 200,
                               continuous_update=False, readout_format=".3g", layout=w.Layout(width="28em"))
    return slider, lambda: slider.value


def _number_input(parameter: dict[str, Any], context: FormContext) -> tuple[Any, Callable[[], Any]]:
    default = _default(parameter)
    text = w.Text(value="" if default in (_MISSING, None) else str(default), placeholder="a number",
                  continuous_update=False, layout=w.Layout(width="14em"))
    integer = parameter_kind(parameter) == "integer"

    def get() -> Any:
        raw = text.value.strip()
        if not raw:
            return None
        try:
            number = float(raw)
        except ValueError:
            raise ValueError(f"{raw[:40]!r} is not a number.") from None
        if integer:
            if not number.is_integer():
                raise ValueError(f"{raw[:40]!r} is not a whole number.")
            return int(number)
        return int(number) if number.is_integer() and "." not in raw and "e" not in raw.lower() else number

    return text, get


def _boolean_input(parameter: dict[str, Any], context: FormContext) -> tuple[Any, Callable[[], Any]]:
    checkbox = w.Checkbox(value=bool(_default(parameter) is True), description=parameter["name"], indent=False)
    return checkbox, lambda: checkbox.value


def _string_input(parameter: dict[str, Any], context: FormContext) -> tuple[Any, Callable[[], Any]]:
    default = _default(parameter)
    text = w.Text(value="" if default in (_MISSING, None) else str(default), continuous_update=False,
                  layout=w.Layout(width="28em"))
    return text, lambda: text.value if text.value != "" else None


def _json_input(parameter: dict[str, Any], context: FormContext) -> tuple[Any, Callable[[], Any]]:
    default = _default(parameter)
    area = w.Textarea(value="" if default is _MISSING else json.dumps(default, indent=1),
                      placeholder="JSON", continuous_update=False, layout=w.Layout(width="28em", height="5em"))
    area.add_class("jeo-json-editor")

    def get() -> Any:
        raw = area.value.strip()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}).") from None

    return area, get


_MAKERS: dict[str, Callable[[dict[str, Any], FormContext], tuple[Any, Callable[[], Any]]]] = {
    "aoi": _aoi_input, "temporal": _temporal_input, "collection": _collection_input, "band": _band_input,
    "bands": _bands_input, "enum": _enum_input, "slider": _slider_input, "integer": _number_input,
    "number": _number_input, "boolean": _boolean_input, "string": _string_input, "date": _string_input,
    "json": _json_input,
}
