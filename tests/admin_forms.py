"""Driving admin pages as a browser would: an admin form turned into the POST it would send,
the errors a re-rendered form shows, and the autocomplete's address."""

from django.core.files.base import File
from django.urls import reverse


def _post_value(bound_field):
    """What a browser would send for this field as rendered (None: send nothing)."""
    field = bound_field.field
    if field.disabled:
        return None
    value = field.prepare_value(bound_field.value())
    if value is None or isinstance(value, File):
        return None
    if isinstance(value, bool):
        return "on" if value else None
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return str(value)


def _form_values(form):
    """Field name → POST value of every editable field of ``form`` (unprefixed names)."""
    values = {}
    for name in form.fields:
        value = _post_value(form[name])
        if value is not None:
            values[name] = value
    return values


class AdminForm:
    """An admin add or change page, turned into the POST data it would send unchanged.

    Existing inline rows are sent as they are; new inline rows are added with ``add_row``,
    starting from the defaults of the inline's empty form.
    """

    def __init__(self, client, url):
        self.client, self.url = client, url
        response = client.get(url)
        assert response.status_code == 200
        form = response.context["adminform"].form
        self.data = {form.add_prefix(k): v for k, v in _form_values(form).items()}
        self.prefixes, self.defaults = {}, {}
        for inline in response.context["inline_admin_formsets"]:
            formset = inline.formset
            assert formset.model not in self.prefixes, "two inlines of one model: pick by prefix"
            self.prefixes[formset.model] = formset.prefix
            management = formset.management_form
            for name in management.fields:
                self.data[management.add_prefix(name)] = str(management[name].value())
            self.data[f"{formset.prefix}-TOTAL_FORMS"] = str(formset.initial_form_count())
            for row in formset.forms[: formset.initial_form_count()]:
                self.data.update({row.add_prefix(k): v for k, v in _form_values(row).items()})
            self.defaults[formset.model] = _form_values(formset.empty_form)

    def add_row(self, model, **fields):
        prefix = self.prefixes[model]
        index = int(self.data[f"{prefix}-TOTAL_FORMS"])
        for name, value in {**self.defaults[model], **fields}.items():
            if value is not None:
                self.data[f"{prefix}-{index}-{name}"] = value
        self.data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
        return index

    def set_row(self, model, index, **fields):
        prefix = self.prefixes[model]
        for name, value in fields.items():
            key = f"{prefix}-{index}-{name}"
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value

    def post(self, **fields):
        return self.client.post(self.url, {**self.data, **fields})


def errors_of(response):
    """Every error message on a re-rendered admin form, its inlines included."""
    if response.context is None or "adminform" not in response.context:
        return []
    messages = [m for errors in response.context["adminform"].form.errors.values() for m in errors]
    for inline in response.context["inline_admin_formsets"]:
        messages += list(inline.formset.non_form_errors())
        for row_errors in inline.formset.errors:
            messages += [m for errors in row_errors.values() for m in errors]
    return messages


def assert_saved(response):
    assert response.status_code == 302, errors_of(response)


def autocomplete_url(app_label, model_name, field_name, term=""):
    query = f"app_label={app_label}&model_name={model_name}&field_name={field_name}&term={term}"
    return f"{reverse('admin:autocomplete')}?{query}"
